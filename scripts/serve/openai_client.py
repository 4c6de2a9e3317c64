#!/usr/bin/env python3
"""The official `openai` Python client against a running tinderbox server, unchanged: embeddings
(the client asks for base64 by default), chat without and with streaming, a completion, the
model list, and an error case. Exits non-zero on the first mismatch.

    cargo run --release --example serve -- --embeddings minilm --generator smollm2 &
    ~/.cache/tinderbox-compare/venv/bin/python scripts/serve/openai_client.py --url http://127.0.0.1:8080/v1
"""
import argparse
import math
import sys

import openai


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", default="http://127.0.0.1:8080/v1")
    a = p.parse_args()
    client = openai.OpenAI(base_url=a.url, api_key="not-needed", max_retries=0)
    checks = []

    models = {m.id: m for m in client.models.list().data}
    print("models:", ", ".join(models))
    embedder = next((i for i in models if "MiniLM" in i), None)
    generator = next((i for i in models if "SmolLM2" in i), None)

    if embedder:
        out = client.embeddings.create(
            model=embedder, input=["A man is eating food.", "A man is eating a piece of bread."]
        )
        sim = cosine(out.data[0].embedding, out.data[1].embedding)
        print(f"embeddings: {len(out.data)} x {len(out.data[0].embedding)}, cosine {sim:.4f}, "
              f"{out.usage.prompt_tokens} tokens")
        checks.append(("embeddings cosine 0.7553", abs(sim - 0.7553) < 1e-3))
        floats = client.embeddings.create(model=embedder, input="hello", encoding_format="float")
        checks.append(("float and base64 agree", len(floats.data[0].embedding) == 384))

    if generator:
        question = [{"role": "user", "content": "What is the capital of France?"}]
        chat = client.chat.completions.create(
            model=generator, messages=question, temperature=0, max_tokens=24
        )
        answer = chat.choices[0].message.content
        print(f"chat: {answer!r} ({chat.choices[0].finish_reason}, {chat.usage.completion_tokens} tokens)")
        checks.append(("chat names Paris", "Paris" in answer))
        pieces = []
        stream = client.chat.completions.create(
            model=generator, messages=question, temperature=0, max_tokens=24, stream=True,
            stream_options={"include_usage": True},
        )
        usage = None
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
            if chunk.usage:
                usage = chunk.usage
        streamed = "".join(pieces)
        print(f"streamed: {len(pieces)} pieces, {streamed!r}")
        checks.append(("streamed equals whole", streamed == answer))
        checks.append(("stream usage", usage is not None and usage.completion_tokens == chat.usage.completion_tokens))
        completion = client.completions.create(
            model=generator, prompt="The capital of France is", max_tokens=8, temperature=0
        )
        print(f"completion: {completion.choices[0].text!r}")
        checks.append(("completion", len(completion.choices[0].text) > 0))

    try:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        checks.append(("unknown model is refused", False))
    except openai.NotFoundError as e:
        print(f"error case: {e.status_code} {e.body['message'] if isinstance(e.body, dict) else e.body}")
        checks.append(("unknown model is refused", e.status_code == 404))

    failed = [name for name, ok in checks if not ok]
    for name, ok in checks:
        print(("ok   " if ok else "FAIL ") + name)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
