"""The ground floor: what every other package stands on, importing nothing of Dossier.

types (the values that cross module boundaries), errors, stream (an answer as
it is written), protocols (the pluggable parts), text (sentences and words),
chat (history in), settings (every setting, declared once).
"""
