"""Command line: ``python -m digits predict|evaluate|tune|export|serve ...`` (run with --help for details).

Each command imports the modules it needs when it runs (the web server and Keras Tuner only for
``serve`` and ``tune``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

TASK_SHAPES = {"mnist10": (28, 28), "mnist100": (28, 56)}
TASK_CLASSES = {"mnist10": 10, "mnist100": 100}


class CliError(Exception):
    """A problem the user can fix; printed without a traceback, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, with a bad argument said in one line (the usage is one ``--help`` away)."""

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _number(kind, low, high=None, what="a number"):
    """An argparse type: ``kind`` (int or float) within [low, high]."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
        return value

    return parse


COUNT = _number(int, 1, what="an integer >= 1")


def load_model(path: str | None, task: str):
    """The model at ``path`` or the shipped model for ``task``, with a clear error when missing."""
    from . import shipped

    try:
        return shipped.load(task, path)
    except (FileNotFoundError, ValueError) as err:
        raise CliError(str(err)) from err


def cmd_predict(args) -> int:
    if args.two_digit and args.number:
        raise CliError("--two-digit and --number are two ways of reading a number; choose one")
    if not args.two_digit:
        return _read_files(args)
    from . import evaluate, preprocess

    model = load_model(args.model, "mnist100")
    probs, failures = {}, {}
    for name in args.files:  # a number may be split in several ways: the model's surest reading wins
        try:
            candidates = preprocess.prepare_candidates(Path(name), two_digit=True)
        except preprocess.ImageError as err:
            failures[name] = str(err)
            continue
        probs[name], _ = evaluate.most_confident(model, candidates)
    for name in args.files:
        if name in failures:
            _print_error(args, name, failures[name])
            continue
        record = {"file": name} | evaluate.top_k(probs[name])
        print(json.dumps(record) if args.json else _with_top3(record))
    return 1 if failures else 0


def _with_top3(record: dict) -> str:
    """``file: label (confidence; top 3: ...)``, the text line of a reading with its three likeliest labels."""
    alternatives = ", ".join(f"{t['label']} {t['p']:.1%}" for t in record["top3"])
    return f"{record['file']}: {record['label']} ({record['confidence']:.1%}; top 3: {alternatives})"


def _print_error(args, name: str, message: str) -> None:
    record = {"file": name, "error": message}
    print(json.dumps(record) if args.json else f"error: {message}", file=sys.stdout if args.json else sys.stderr)


def _read_files(args) -> int:
    """``predict`` for one digit or (``--number``) a number of any length, declining what is not one."""
    from . import preprocess, reader

    try:
        read = reader.Reader.shipped(args.model)
    except (FileNotFoundError, ValueError) as err:
        raise CliError(str(err)) from err
    failed = False
    for name in args.files:
        try:
            reading = read.read(Path(name), number=args.number)
        except preprocess.ImageError as err:
            _print_error(args, name, str(err))
            failed = True
            continue
        record = {"file": name} | reading.as_dict()
        if not args.number and reading.digits:  # one digit: its label as a number, as before
            record["label"] = None if reading.label is None else int(reading.label)
            record["top3"] = reading.digits[0]["top3"]
        if args.json:
            print(json.dumps(record))
        elif not args.number and reading.label is not None:  # one digit: with its top three, as before
            print(_with_top3(record))
        else:
            print(f"{name}: {reading.in_words()}")
    return 1 if failed else 0


def cmd_evaluate(args) -> int:
    try:
        with np.load(args.npz, allow_pickle=False) as f:
            x, y = f["x"], f["y"]
    except (OSError, ValueError, KeyError) as err:
        raise CliError(f"{args.npz}: expected an .npz with arrays 'x' and 'y' ({err})") from err
    if len(x) == 0:
        raise CliError(f"{args.npz}: x holds no images; save at least one image and its label")
    want = TASK_SHAPES[args.task]
    if x.ndim != 3 or x.shape[1:] != want or x.dtype != np.uint8:
        raise CliError(
            f"{args.npz}: x must be uint8 N x {want[0]} x {want[1]} (white on black), got {x.dtype} {x.shape}"
        )
    if y.shape != (len(x),):
        raise CliError(f"{args.npz}: y must hold one label per image, got shape {y.shape} for {len(x)} images")
    classes = TASK_CLASSES[args.task]
    if not np.issubdtype(y.dtype, np.integer) or (len(y) and (y.min() < 0 or y.max() >= classes)):
        bad = y if not np.issubdtype(y.dtype, np.integer) else y[(y < 0) | (y >= classes)]
        raise CliError(
            f"{args.npz}: y must hold integer labels 0-{classes - 1} for --task {args.task}, "
            f"got {y.dtype} values such as {bad[:3].tolist()}"
        )
    from . import evaluate  # TensorFlow: once the input is known to be good

    model = load_model(args.model, args.task)
    pred = evaluate.predict_proba(model, x).argmax(axis=1)
    print(json.dumps({"accuracy": float(np.mean(pred == y)), "n": int(len(y))}))
    return 0


def cmd_tune(args) -> int:
    from . import data, tuning

    if args.workers and args.no_write:
        raise CliError("a distributed worker is started by its chief; leave out --workers or --no-write")
    if args.workers:  # the same command, once as chief and once per worker
        forwarded = [
            "--model",
            args.model,
            "--algo",
            args.algo,
            "--max-trials",
            str(args.max_trials),
            "--epochs",
            str(args.epochs),
            "--project",
            args.project or f"{args.model}_{args.algo}",
        ]
        forwarded += ["--n-train", str(args.n_train)] if args.n_train else []
        forwarded += ["--directory", args.directory] if args.directory else []
        forwarded += ["--fresh"] if args.fresh else []
        return tuning.run_distributed(args.workers, forwarded)
    try:
        splits = data.mnist_splits(n_train=args.n_train)
        table = tuning.search(
            args.model,
            args.algo,
            splits=splits,
            max_trials=args.max_trials,
            budget_minutes=args.budget_minutes,
            epochs=args.epochs,
            directory=args.directory,
            project_name=args.project,
            fresh=args.fresh,
            verbose=2,
            write=not args.no_write,
        )
    except (ValueError, data.DataError) as err:  # bad parameters, missing data, or a changed search space
        raise CliError(str(err)) from err
    if args.no_write:  # a distributed worker: the chief writes the table
        return 0
    print(table.to_string(index=False))
    if args.retrain_epochs:
        result = tuning.retrain_best(args.model, table, data.mnist_splits(), epochs=args.retrain_epochs)
        summary = {k: result.config[k] for k in ("name", "hparams", "learning_rate")}
        summary |= {"test_accuracy": result.test_accuracy, "train_seconds": round(result.train_seconds, 1)}
        print(json.dumps(summary, default=str))
    return 0


def cmd_export(args) -> int:
    if not args.out.strip():
        raise CliError("--out is empty: name the file (a folder for savedmodel) to write")
    from . import data, export

    try:
        export.check_options(args.format, args.quantize)
    except ValueError as err:
        raise CliError(str(err)) from err
    out = Path(args.out)
    if out.suffix != export.SUFFIX[args.format] and args.format != "savedmodel":
        raise CliError(f"--out {out}: a {args.format} file must end in {export.SUFFIX[args.format]}")
    model = load_model(args.model, "mnist10")  # a --model file of any task loads as it is
    calibration = None
    if args.quantize == "int8":  # calibrated on training images of the model's size
        try:
            (x_train, _), _ = data.load_mnist()
        except data.DataError as err:
            raise CliError(f"int8 quantization is calibrated on MNIST training images: {err}") from err
        if model.input_shape[1:3] != x_train.shape[1:]:
            raise CliError(f"int8 calibration uses 28 x 28 MNIST digits; this model takes {model.input_shape[1:3]}")
        calibration = export.calibration_images(x_train)
    path = export.export(model, args.format, out, args.quantize, calibration)
    print(json.dumps({"format": args.format, "quantize": args.quantize, "path": str(path)}))
    return 0


def cmd_serve(args) -> int:
    from .web import serve

    serve(args.host, args.port)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m digits", description="Handwritten digit models from the command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "predict",
        help="read the digit (or number) in image files; what is not one is declined",
        description="Read the digit in each image, or with --number a whole number. A blank image or one that "
        "is not a digit is declined (label null, with a reason), not guessed.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--number", action="store_true", help="images hold a number of any length (digits in a row)")
    p.add_argument("--two-digit", action="store_true", help="images hold a number 0-99, read by the 0-99 model")
    p.add_argument("--model", help="a .keras model (default: the shipped model)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(run=cmd_predict)
    e = sub.add_parser("evaluate", help="accuracy of a model on arrays x (uint8, white on black) and y in an .npz")
    e.add_argument("--task", choices=sorted(TASK_SHAPES), required=True)
    e.add_argument("--model", help="a .keras model (default: the shipped model for the task)")
    e.add_argument("--npz", required=True)
    e.set_defaults(run=cmd_evaluate)
    t = sub.add_parser("tune", help="a Keras Tuner search (resumable; --fresh starts over)")
    t.add_argument("--model", choices=("mlp", "cnn"), required=True)
    t.add_argument("--algo", choices=("random", "hyperband", "bayesian"), default="random")
    t.add_argument("--max-trials", type=COUNT, default=10)
    t.add_argument(
        "--budget-minutes",
        type=_number(float, 1e-9, what="a positive number of minutes"),
        help="start no new trial after this many minutes",
    )
    t.add_argument("--epochs", type=COUNT, default=3, help="epochs per trial (Hyperband: the maximum)")
    t.add_argument(
        "--n-train", type=_number(int, 10, what="an integer >= 10"), help="train on a stratified subset of this size"
    )
    t.add_argument("--project", help="project name (default: <model>_<algo>)")
    t.add_argument("--directory", help="where Keras Tuner keeps its projects (default: .cache/tuning)")
    t.add_argument("--fresh", action="store_true", help="delete the project's trials and start over")
    t.add_argument(
        "--retrain-epochs",
        type=_number(int, 0, what="an integer >= 0"),
        default=0,
        help="retrain the best configuration on all training data",
    )
    t.add_argument(
        "--workers",
        type=_number(int, 0, what="an integer >= 0"),
        default=0,
        help="run distributed: a chief and N workers on localhost",
    )
    t.add_argument("--no-write", action="store_true", help=argparse.SUPPRESS)
    t.set_defaults(run=cmd_tune)
    x = sub.add_parser("export", help="export a model for serving (SavedModel) or phones (TFLite)")
    x.add_argument("--model", help="a .keras model (default: the shipped digit model)")
    x.add_argument("--format", required=True, help="keras, h5, savedmodel or tflite")
    x.add_argument("--quantize", help="tflite only: float16 (half-size weights) or int8 (calibrated on MNIST)")
    x.add_argument("--out", required=True, help="the file (a folder for savedmodel) to write")
    x.set_defaults(run=cmd_export)
    s = sub.add_parser("serve", help="the web demo: draw a digit or a number and see the prediction")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    s.add_argument("--port", type=_number(int, 1, 65535, what="a port number 1-65535"), default=8000)
    s.set_defaults(run=cmd_serve)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
