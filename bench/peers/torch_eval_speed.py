"""PyTorch peer of the `eval-speed` bench suite (bench/suites/eval-speed.ts): teacher-forced answer scoring, the
way open-unlearning's evaluation computes it (compute_batch_nll under inference mode), on token ids our side made.

Usage: torch_eval_speed.py --threads T --model HF_FOLDER [--batch-size N]
Speaks the engine peer's protocol (bench/peers/torch_engine.py): greets with {"ready": true, "torch",
"transformers", "threads", "attention", "batch_size"} once the model is loaded, then answers each request
{"case", "reps", "policy", "items": [[prompt_ids, answer_ids], ...], "pad_id"} with {"case", "metric": "tokens/s",
"value", "reps", "best_ms", "median_ms", "batch_size", "means"}: tokens are the items' prompt + answer tokens (padding not
counted), one rep scores every item, and `means` (each item's mean answer-token log-prob, from the last rep) lets
the suite check both sides computed the same thing. Batches are built once per request, outside the timing.

One rep: for each batch (right-padded, with its attention mask) the model's logits under torch.inference_mode(),
per-token cross-entropy of the answer tokens (ignore_index -100 elsewhere), summed and averaged per item.
"""
import argparse

import torch
import torch.nn.functional as F
import transformers
from transformers import GPT2LMHeadModel

from peer_protocol import greet, serve

# Only JSON on stdout, and no loading progress bars on the harness's stderr.
transformers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()

from torch_engine import DEFAULT_POLICY, measure


def batches(items, pad_id, batch_size):
    """Right-padded [B, L] ids, attention masks and next-token targets (-100 off the answer), per batch."""
    out = []
    for start in range(0, len(items), batch_size):
        chunk = items[start:start + batch_size]
        L = max(len(p) + len(a) for p, a in chunk)
        ids = torch.full((len(chunk), L), pad_id, dtype=torch.long)
        mask = torch.zeros((len(chunk), L), dtype=torch.long)
        targets = torch.full((len(chunk), L), -100, dtype=torch.long)
        for b, (p, a) in enumerate(chunk):
            n = len(p) + len(a)
            ids[b, :n] = torch.tensor(p + a)
            mask[b, :n] = 1
            # Position t predicts token t + 1: answer token j sits at len(p) + j.
            targets[b, len(p) - 1:n - 1] = torch.tensor(a)
        out.append((ids, mask, targets, torch.tensor([len(a) for _, a in chunk], dtype=torch.float32)))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, required=True, help="intra-op threads (ours' thread count)")
    parser.add_argument("--model", required=True, help="a Hugging Face GPT-2 folder")
    parser.add_argument("--batch-size", type=int, default=32, help="items per forward pass")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = GPT2LMHeadModel.from_pretrained(args.model).float().eval()
    greet(model, batch_size=args.batch_size)

    def handle(request):
        items = request["items"]
        prepared = batches(items, request.get("pad_id", 0), args.batch_size)
        tokens = sum(len(p) + len(a) for p, a in items)
        means = []

        def run():
            means.clear()
            with torch.inference_mode():
                for ids, mask, targets, lengths in prepared:
                    logits = model(input_ids=ids, attention_mask=mask).logits
                    B, L, V = logits.shape
                    nll = F.cross_entropy(logits.view(B * L, V), targets.view(B * L), ignore_index=-100, reduction="none")
                    means.extend((-nll.view(B, L).sum(dim=1) / lengths).tolist())

        policy = {**DEFAULT_POLICY, **(request.get("policy") or {})}
        reps, best_ms, median_ms = measure(run, policy, request.get("reps"))
        return {"metric": "tokens/s", "value": tokens / (median_ms / 1e3), "reps": reps,
                "best_ms": best_ms, "median_ms": median_ms, "batch_size": args.batch_size, "means": means}

    serve(handle)


if __name__ == "__main__":
    main()
