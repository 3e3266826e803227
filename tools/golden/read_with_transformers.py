#!/usr/bin/env python3
"""Reads model folders written by Lethe with Hugging Face transformers and writes the golden fixtures.

Called by tools/golden/make-fixtures.ts (see docs/golden.md), not by hand:

    read_with_transformers.py SPEC.json OUT_DIR

SPEC.json: {"max_new_tokens": N, "top_k": K, "tokenizer_checks": [str], "decode_check": str, "folders": [{"name", "dir", "recipe", "prompts"}]}.
For every folder it writes OUT_DIR/<name>.json: what transformers' AutoTokenizer and AutoModelForCausalLM (local
folder, HF_HUB_OFFLINE=1, one CPU thread) make of it: token ids, greedy continuations, top-k logits and the full
logsumexp at a few positions, the RoPE frequencies, a digest of every weight as loaded, and how the default
(dtype="auto") load differs from the float32 one. It refuses a folder that transformers loads with missing,
unexpected or mismatched weights (a missing weight would be randomly initialised, and every comparison void).
"""
import hashlib
import json
import os
import struct
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)


def f32(x):
    """A float32 value as a JSON number with 9 significant digits (enough to round-trip a float32)."""
    return float("%.9g" % float(x))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def safetensors_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return header


def load_checked(folder, **kwargs):
    model, info = AutoModelForCausalLM.from_pretrained(folder, output_loading_info=True, **kwargs)
    problems = {k: sorted(v) for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs") and v}
    if problems:
        raise SystemExit("%s: transformers did not load every weight as stored: %s" % (folder, problems))
    return model.eval()


def weights_digest(model, header, folder):
    """sha256 over every stored tensor as transformers holds it (float32 little-endian, in sorted name order)."""
    from safetensors import safe_open

    state = model.state_dict()
    h = hashlib.sha256()
    with safe_open(os.path.join(folder, "model.safetensors"), framework="pt") as f:
        for name in sorted(header):
            stored = f.get_tensor(name).to(torch.float32)
            held = state[name].detach().to(torch.float32).contiguous()
            if not torch.equal(stored, held):
                raise SystemExit("%s: transformers holds %s with values other than the stored ones" % (folder, name))
            h.update(held.numpy().astype("<f4").tobytes())
    return h.hexdigest()


def greedy(model, ids, steps):
    """Greedy decoding by full recompute: argmax of the last position's logits (first index on ties), no EOS stop."""
    seq = list(ids)
    margins = []
    with torch.no_grad():
        for _ in range(steps):
            logits = model(torch.tensor([seq])).logits[0, -1].to(torch.float32)
            top = torch.topk(logits, 2).values
            margins.append(float(top[0] - top[1]))
            seq.append(int(torch.argmax(logits)))
    return seq[len(ids):], margins


def pipeline_differences(tok, folder):
    """Parts of the tokenizer pipeline transformers runs that differ from the folder's tokenizer.json."""
    with open(os.path.join(folder, "tokenizer.json"), encoding="utf-8") as f:
        file_json = json.load(f)
    used = json.loads(tok.backend_tokenizer.to_str())
    norm = lambda v: json.dumps(v, sort_keys=True)  # noqa: E731
    return [k for k in ("normalizer", "pre_tokenizer", "post_processor", "decoder") if norm(used.get(k)) != norm(file_json.get(k))]


def read_folder(entry, spec):
    folder = entry["dir"]
    steps, top_k = spec["max_new_tokens"], spec["top_k"]
    header = safetensors_header(os.path.join(folder, "model.safetensors"))
    stored_dtypes = sorted({t["dtype"] for t in header.values()})

    tok = AutoTokenizer.from_pretrained(folder)
    model = load_checked(folder, dtype=torch.float32)
    auto = load_checked(folder)  # the default load: dtype "auto", i.e. the stored dtype (transformers 5)
    config = model.config

    out = {
        "folder": entry["name"],
        "recipe": entry["recipe"],
        "model_safetensors_sha256": sha256(os.path.join(folder, "model.safetensors")),
        "tokenizer_json_sha256": sha256(os.path.join(folder, "tokenizer.json")),
        "stored_dtypes": stored_dtypes,
        "generator": {
            "script": "tools/golden/read_with_transformers.py",
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "tokenizers": tokenizers.__version__,
        },
        "load": {
            "model_class": type(model).__name__,
            "tokenizer_class": type(tok).__name__,
            "compute_dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
            "auto_dtype": str(next(auto.parameters()).dtype).replace("torch.", ""),
            "tied_embeddings": model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr(),
            "weights_f32_sha256": weights_digest(model, header, folder),
            "tokenizer_pipeline_differs_from_file": pipeline_differences(tok, folder),
        },
    }
    rotary = getattr(getattr(model, "model", None), "rotary_emb", None)
    if rotary is not None:
        out["load"]["rope_inv_freq"] = [f32(v) for v in rotary.inv_freq.tolist()]
        out["load"]["rope_attention_scaling"] = float(rotary.attention_scaling)
        out["load"]["head_dim"] = int(getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads)

    file_tok = tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    differs = bool(out["load"]["tokenizer_pipeline_differs_from_file"])

    def tokenized(text):
        ids = tok(text)["input_ids"]
        item = {"text": text, "ids": ids, "decoded": tok.decode(ids)}
        if differs:
            file_ids = file_tok.encode(text).ids
            if file_ids != ids:
                item["file_pipeline_ids"] = file_ids
        return item

    out["tokenizer_checks"] = [tokenized(t) for t in spec["tokenizer_checks"]]
    out["decode_check"] = tokenized(spec["decode_check"])
    # As tokenizer_config.json says (null: not said), and what transformers made of it (it never cleans up BPE).
    tokenizer_config = os.path.join(folder, "tokenizer_config.json")
    said = None
    if os.path.exists(tokenizer_config):
        with open(tokenizer_config, encoding="utf-8") as f:
            said = json.load(f).get("clean_up_tokenization_spaces")
    out["decode_check"]["config_clean_up_tokenization_spaces"] = said
    out["decode_check"]["tokenizer_model"] = type(tok.backend_tokenizer.model).__name__

    prompts = []
    worst_auto = 0.0
    for text in entry["prompts"]:
        item = tokenized(text)
        ids = item["ids"]
        new, margins = greedy(model, ids, steps)
        # transformers' own cached decoding must agree (up to an EOS, where generate() may stop).
        with torch.no_grad():
            gen = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long), do_sample=False,
                                 max_new_tokens=steps, pad_token_id=tok.eos_token_id or 0)[0, len(ids):].tolist()
        if gen != new[: len(gen)]:
            raise SystemExit("%s: generate() gives %s, the full-recompute greedy loop %s" % (folder, gen, new))
        full = ids + new[:-1]
        with torch.no_grad():
            logits = model(torch.tensor([full])).logits[0].to(torch.float32)
            auto_logits = auto(torch.tensor([full])).logits[0].to(torch.float32)
        positions = sorted({0, len(ids) - 1, len(full) - 1})
        scored = []
        for p in positions:
            row = logits[p]
            top = torch.topk(row, top_k)
            scored.append({
                "position": p,
                "top_ids": top.indices.tolist(),
                "top_logits": [f32(v) for v in top.values.tolist()],
                "logsumexp": float("%.12g" % torch.logsumexp(row.to(torch.float64), 0).item()),
            })
            worst_auto = max(worst_auto, float((auto_logits[p] - row).abs().max()))
        auto_new, _ = greedy(auto, ids, steps)
        item.update({
            "greedy": new,
            "greedy_min_margin": f32(min(margins)),
            "greedy_text": tok.decode(new),
            "full_text": tok.decode(ids + new),
            "logits": scored,
            "auto_dtype_greedy_same": auto_new == new,
        })
        prompts.append(item)
    out["prompts"] = prompts
    out["load"]["auto_dtype_max_abs_logit_diff"] = f32(worst_auto)
    return out


def dump(value, indent=0):
    """JSON with one key per line and lists of scalars on one line (small, diffable fixtures)."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = ",\n".join("%s  %s: %s" % (pad, json.dumps(k), dump(v, indent + 1)) for k, v in value.items())
        return "{\n%s\n%s}" % (inner, pad)
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        inner = ",\n".join("%s  %s" % (pad, dump(v, indent + 1)) for v in value)
        return "[\n%s\n%s]" % (inner, pad)
    return json.dumps(value, ensure_ascii=False)


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: read_with_transformers.py SPEC.json OUT_DIR")
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    os.makedirs(sys.argv[2], exist_ok=True)
    for entry in spec["folders"]:
        fixture = read_folder(entry, spec)
        path = os.path.join(sys.argv[2], entry["name"] + ".json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(dump(fixture) + "\n")
        print("%s: %s, %s, %d bytes" % (path, fixture["load"]["model_class"], "/".join(fixture["stored_dtypes"]), os.path.getsize(path)))


if __name__ == "__main__":
    main()
