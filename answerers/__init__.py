"""Answerers turn a question and retrieved passages into a cited ``Answer``.

``extractive`` quotes the best sentences; ``generative`` has an LLM write the
answer and checks it; both stand on ``grounding`` (sentence scoring and support
checks). ``backends`` makes the LLMs. Their protocol is ``core.protocols.Answerer``.
"""
