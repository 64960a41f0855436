"""`python -m npusim.models NAME -o FILE.onnx [--set KEY=INT ...]`: write one of the generated
models, e.g. ``transformer_block --set seq=128 --set hidden=768 --set heads=12 --set ff=3072``."""
from __future__ import annotations

import argparse

import onnx

from ..output import replacing
from . import MODELS


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m npusim.models", description="Write a generated ONNX model.")
    ap.add_argument("model", choices=sorted(MODELS))
    ap.add_argument("-o", "--output", required=True, metavar="FILE.onnx")
    ap.add_argument("--set", dest="params", action="append", default=[], metavar="KEY=INT",
                    help="a size parameter of the generator, e.g. seq=128")
    args = ap.parse_args()
    params = {}
    for text in args.params:
        key, _, value = text.partition("=")
        if not value.isdigit():
            ap.error(f"--set {text!r}: expected KEY=INT, e.g. seq=128")
        params[key] = int(value)
    try:
        model = MODELS[args.model](**params)
    except TypeError as exc:
        ap.error(f"{args.model}: {exc}")
    with replacing(args.output) as tmp:
        onnx.save(model, tmp)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
