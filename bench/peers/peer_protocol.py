"""The line protocol the whole-job PyTorch peers speak with the bench (bench/lib/peer-process.ts): one JSON greeting
line when ready, then one JSON reply per JSON request line on stdin. A request that fails is answered with an
"error" field naming it (the traceback goes to stderr) and the peer keeps serving."""
import json
import sys
import traceback

import torch
import transformers


def greet(model, **extra):
    """The ready line: versions, threads and attention implementation, plus what the peer adds."""
    print(json.dumps({
        "ready": True, "torch": torch.__version__, "transformers": transformers.__version__,
        "threads": torch.get_num_threads(), "attention": getattr(model.config, "_attn_implementation", None), **extra,
    }), flush=True)


def serve(handle, echo=("case",)):
    """Answers each request line with handle(request); replies (errors too) repeat the request's `echo` fields."""
    for line in sys.stdin:
        if not line.strip():
            continue
        request = {}
        try:
            request = json.loads(line)
            reply = {**{k: request.get(k) for k in echo}, **handle(request)}
        except Exception as err:  # report it on this request and keep serving
            traceback.print_exc(file=sys.stderr)
            reply = {**{k: request.get(k) for k in echo}, "error": f"{type(err).__name__}: {err}"}
        print(json.dumps(reply), flush=True)
