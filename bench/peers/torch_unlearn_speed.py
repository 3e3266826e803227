"""PyTorch peer of the `unlearn-speed` bench suite (bench/suites/unlearn-speed.ts): NPO steps the way
open-unlearning runs them (src/trainer/unlearn/npo.py over Hugging Face's Trainer), on batches our side made.

Usage: torch_unlearn_speed.py --threads T (--model HF_FOLDER | --random GPT2_CONFIG_JSON) --options JSON
Greets with one JSON line {"ready": true, "torch", "transformers", "threads", "attention", "optimizer", "params"}
once the model, its frozen reference and the optimizer exist (all outside the timing), then reads one request per
line, {"case", "step": i, "forget": batch, "retain": batch} with batch = {"shape": [B, L], "ids", "targets",
"lengths"} (row-major; targets are next-token targets, -100 off the answer), and answers each with
{"step", "ms", "loss", "forget_loss", "retain_loss"} or {"error"}. Only the step itself is timed, not the
conversion of the request into tensors.

One step, as open-unlearning's NPO computes it:
  forget: -(2/beta) * logsigmoid(-beta * (log p_theta(y|x) - log p_ref(y|x))).mean(), with log p(y|x) the
          answer-token log-probs summed per sequence (compute_batch_nll) and p_ref a deep copy of the starting model
          run under no_grad;
  retain: model(**retain_inputs).loss (NLL of the retain answers);
  loss = gamma * forget + alpha * retain; backward; clip_grad_norm_(clip) (the Trainer's max_grad_norm);
  AdamW (fused where the version has it, the Trainer's default since torch 2.8); zero_grad.
The model is transformers' GPT2LMHeadModel in float32 in train mode with dropout off (our model has none, so the
work is the same), its attention the library's default (SDPA on recent versions).
"""
import argparse
import copy
import json
import time

import torch
import torch.nn.functional as F
import transformers
from transformers import GPT2Config, GPT2LMHeadModel

from peer_protocol import greet, serve

# Only JSON on stdout, and no loading progress bars on the harness's stderr.
transformers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()

NO_DROPOUT = {"resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0}


def load(args):
    if args.model:
        config = GPT2Config.from_pretrained(args.model, **NO_DROPOUT)
        # Stored in float16 here; loaded as stored (or as "auto" picks), then computed in float32 as ours does.
        return GPT2LMHeadModel.from_pretrained(args.model, config=config).float()
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(**json.loads(args.random), **NO_DROPOUT)).float()


def adamw(params, lr, weight_decay):
    try:
        return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay, fused=True), "adamw-fused"
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay), "adamw"


def inputs(batch):
    """A wire batch as the collator would give it: input_ids, attention_mask and labels (labels are the ids with
    -100 off the answer, unshifted; the model and compute_batch_nll shift them)."""
    B, L = batch["shape"]
    ids = torch.tensor(batch["ids"], dtype=torch.long).view(B, L)
    targets = torch.tensor(batch["targets"], dtype=torch.long).view(B, L)
    labels = torch.full_like(ids, -100)
    labels[:, 1:] = targets[:, :-1]
    mask = (torch.arange(L)[None, :] < torch.tensor(batch["lengths"])[:, None]).long()
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def batch_nll(model, x):
    """open-unlearning's compute_batch_nll: per-sequence summed NLL of the labelled tokens. The labels are not passed
    to the model, whose own mean loss would be computed and thrown away."""
    logits = model(input_ids=x["input_ids"], attention_mask=x["attention_mask"]).logits
    shifted = x["labels"][..., 1:].contiguous()
    logits = logits[..., :-1, :].contiguous()
    B, T, V = logits.shape
    # Flattened rather than open-unlearning's transpose(-1, -2): the same numbers, and 2x faster on the CPU.
    return F.cross_entropy(logits.view(B * T, V), shifted.view(B * T), ignore_index=-100, reduction="none").view(B, T).sum(dim=-1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, required=True, help="intra-op threads (ours' thread count)")
    parser.add_argument("--model", help="a Hugging Face GPT-2 folder")
    parser.add_argument("--random", help="GPT2Config fields (JSON) of a randomly initialised model")
    parser.add_argument("--options", required=True, help="lr, beta, alpha, gamma, clip, weightDecay as our side resolved them (JSON)")
    args = parser.parse_args()
    if bool(args.model) == bool(args.random):
        parser.error("give exactly one of --model and --random")
    o = json.loads(args.options)
    torch.set_num_threads(args.threads)

    model = load(args)
    model.train()
    reference = copy.deepcopy(model).eval()
    for p in reference.parameters():
        p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer, optimizer_name = adamw(params, o["lr"], o["weightDecay"])
    beta, alpha, gamma, clip = o["beta"], o["alpha"], o["gamma"], o["clip"]

    def step(forget, retain):
        current = batch_nll(model, forget)
        with torch.no_grad():
            ref = batch_nll(reference, forget)
        log_ratio = -(current - ref)  # log p_theta(y|x) - log p_ref(y|x)
        forget_loss = -2 / beta * F.logsigmoid(-beta * log_ratio).mean()
        retain_loss = model(**retain).loss
        loss = gamma * forget_loss + alpha * retain_loss
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item(), forget_loss.item(), retain_loss.item()

    greet(model, optimizer=optimizer_name, params=sum(p.numel() for p in model.parameters()))

    def handle(request):
        forget, retain = inputs(request["forget"]), inputs(request["retain"])
        t0 = time.perf_counter()
        loss, lf, lr = step(forget, retain)
        ms = (time.perf_counter() - t0) * 1e3
        return {"ms": ms, "loss": loss, "forget_loss": lf, "retain_loss": lr}

    serve(handle, echo=("case", "step"))


if __name__ == "__main__":
    main()
