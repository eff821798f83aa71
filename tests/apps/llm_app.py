"""A real LLM app for the trace-port tests: ddtrace's LLM Observability, agent mode, sending to DD_TRACE_AGENT_URL.

One workflow, three llm spans on two models (one of them fails), token metrics, an e-mail address in a prompt.
Flushes explicitly and exits: no sleeps.
"""

from ddtrace.llmobs import LLMObs
from ddtrace.trace import tracer

LLMObs.enable(ml_app="shop-bot", agentless_enabled=False, integrations_enabled=False)

with LLMObs.workflow(name="answer-customer") as wf:
    LLMObs.annotate(wf, input_data="where is my order?", output_data="on its way")
    with LLMObs.llm(model_name="gpt-4o", model_provider="openai", name="classify") as s:
        LLMObs.annotate(s, input_data=[{"role": "user", "content": "mail me at jane.doe@example.com please"}],
                        output_data=[{"role": "assistant", "content": "label: shipping"}],
                        metrics={"input_tokens": 12, "output_tokens": 3, "total_tokens": 15})
    with LLMObs.llm(model_name="gpt-4o", model_provider="openai", name="draft") as s:
        LLMObs.annotate(s, input_data=[{"role": "user", "content": "draft a reply"}],
                        output_data=[{"role": "assistant", "content": "Your order ships today."}],
                        metrics={"input_tokens": 40, "output_tokens": 9, "total_tokens": 49})
    try:
        with LLMObs.llm(model_name="claude-3-5-haiku", model_provider="anthropic", name="polish") as s:
            LLMObs.annotate(s, input_data=[{"role": "user", "content": "polish it"}],
                            metrics={"input_tokens": 7, "output_tokens": 0})
            raise TimeoutError("upstream timed out")
    except TimeoutError:
        pass

LLMObs.flush()
tracer.flush()
print("sent", flush=True)
