"""The README's headline table: one row per notebook's question, this repository's answer read from the
notebook's metrics file, beside what the reference projects reported and the best published figure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from .. import published as P


def percent(value: float) -> str:
    """0.9962 -> "99.62%"."""
    return f"{100 * value:.2f}%"


def _accuracies(m: dict) -> dict[str, float]:
    return {name: row["test_accuracy"] for name, row in m.get("models", {}).items()}


def _mlp_vs_cnn(m: dict) -> str:
    acc, test = _accuracies(m), m["extra"]["mcnemar_best_mlp_vs_best_cnn"]
    return (
        f"CNN ({test['b']}) {percent(acc[test['b']])} vs MLP ({test['a']}) {percent(acc[test['a']])}; the CNN alone is right "
        f"on {test['b_only']} test digits, the MLP alone on {test['a_only']} (McNemar p = {test['p_value']:.0e})"
    )


def _architectures(m: dict) -> str:
    ranked = sorted(_accuracies(m).items(), key=lambda kv: -kv[1])
    return ", ".join(f"{name} {percent(acc)}" for name, acc in ranked)


def _ablations(m: dict) -> str:
    table = {name: row["test_accuracy_mean"] for name, row in m["extra"]["ablation"].items()}
    base_name = next(iter(table))  # the first variant is the base the others change one thing of
    base = table.pop(base_name)
    ranked = sorted(table.items(), key=lambda kv: -kv[1])
    return f"{base_name} {percent(base)}; " + ", ".join(f"{n} {100 * (a - base):+.2f}" for n, a in ranked) + " points"


def _improved(m: dict) -> str:
    acc = _accuracies(m)
    return f"cnn_basic {percent(acc['cnn_basic'])} → cnn_improved {percent(acc['cnn_improved'])}"


def _tuning(m: dict) -> str:
    acc, trials = _accuracies(m), m["extra"].get("trials", {})
    return "; ".join(f"{name} {percent(a)}" for name, a in acc.items()) + (
        f" ({', '.join(f'{k}: {v} trials' for k, v in trials.items())})" if trials else ""
    )


def _usps(m: dict) -> str:
    if "evidence" not in m["extra"]:  # a report from before the grouped protocol: the best of its models
        usps = m["extra"]["usps"]
        best = max(usps, key=lambda name: usps[name]["usps_framed"])
        return f"{best} {percent(usps[best]['usps_framed'])}, never trained on USPS"
    evidence = m["extra"]["evidence"]  # {model: {presentation: USPS test accuracy}}
    best, mlp = evidence["best CNN"], evidence["MLP"]
    return (
        f"best CNN {percent(best['framed and deskewed'])}, framed and deskewed, never trained on USPS; MLP "
        f"{percent(mlp['framed like MNIST'])} framed, {percent(mlp['naive resize'])} naively resized"
    )


def _mnist100(m: dict) -> str:
    """The model chosen on validation with ITS test accuracy (not the best test figure), and the weakest."""
    accuracies = _accuracies(m)
    ranked = sorted(accuracies.items(), key=lambda kv: -kv[1])
    short_names = list(m["extra"].get("val_accuracy", {}))  # the notebook's short names, in the models' order
    best_name = m["extra"].get("best")
    if best_name and "best_test_accuracy" in m["extra"]:  # recorded by the notebook itself
        chosen = m["extra"]["best_test_accuracy"]
    elif best_name in short_names and len(short_names) == len(accuracies):  # older reports: by position
        chosen = list(accuracies.values())[short_names.index(best_name)]
    else:
        best_name, chosen = ranked[0]
    return f"{best_name} {percent(chosen)}; {ranked[-1][0]} {percent(ranked[-1][1])}"


def _user_images(m: dict) -> str:
    corpus = m["extra"]["corpus"]
    text = f"single digits {percent(corpus['singles'])}, two-digit numbers {percent(corpus['pairs'])}"
    if "numbers" in corpus:
        text += f", numbers of 3-8 digits {percent(corpus['numbers'])}; non-digits declined {percent(corpus['declined'])}"
    return text + " of the corpus"


def _best_model(m: dict) -> str:
    seeds, ensemble, shifts = m["extra"]["seeds"][0], m["extra"]["ensemble"], m["extra"].get("shifts", {})
    shifted = shifts["seeds"][0] if shifts.get("adopted") else None
    return (
        f"best recipe {percent(seeds['test_accuracy_mean'])} ± {100 * seeds['test_accuracy_sd']:.2f} "
        f"({seeds['seeds']} seeds)"
        + (
            f", {percent(shifted['test_accuracy_mean'])} ± {100 * shifted['test_accuracy_sd']:.2f} read with "
            "test-time shifts (chosen on validation)"
            if shifted
            else ""
        )
        + f"; ensemble of {len(ensemble['members'])} chosen on validation {percent(ensemble['accuracy'])}"
        + _cheaper_recipe(m["extra"].get("cheaper_recipe"))
    )


def _cheaper_recipe(cheaper: dict | None) -> str:
    if not cheaper:
        return ""
    return (
        f"; cheaper recipe ({cheaper['recipe']}) {percent(cheaper['test_mean'])} ± {100 * cheaper['test_sd']:.2f} "
        f"({cheaper['seeds']} seeds), trained {cheaper['cheaper_than_best']:.1f}× cheaper"
    )


def _why_cnns(m: dict) -> str:
    perm = m["extra"]["permutation"]
    return "pixels scrambled: " + "; ".join(
        f"{name} {percent(v['original'])} → {percent(v['permuted'])}" for name, v in perm.items()
    )


@dataclass(frozen=True)
class Question:
    notebook: str  # the notebook's number
    question: str
    answer: Callable[[dict], str]  # its metrics file -> this repository's measured answer
    reference: str  # what the tutorial projects whose models the notebooks rebuild report (their READMEs)
    published: str  # the best comparable published figure (``digits.published``)


QUESTIONS = (
    Question(
        "01",
        "Does a CNN beat an MLP on MNIST?",
        _mlp_vs_cnn,
        f"MLP {P.REFERENCE_MLP:.1%} / CNN {P.REFERENCE_CNN:.1%}",
        f"Keras simple convnet ~{P.KERAS_SIMPLE_CONVNET[0]:.1%}–{P.KERAS_SIMPLE_CONVNET[1]:.1%}",
    ),
    Question(
        "02", "Which of the reference CNN architectures is best?", _architectures, f"CNN#3 {P.REFERENCE_CNN3:.1%}", "—"
    ),
    Question("03", "What does each regulariser add? (3 seeds, short runs)", _ablations, "—", "—"),
    Question(
        "04",
        "How much do BN, augmentation and a schedule add to a basic CNN?",
        _improved,
        f"basic ~{P.REFERENCE_BASIC:.0%}, improved ~{P.REFERENCE_IMPROVED:.0%}",
        "—",
    ),
    Question("05", "What does a hyperparameter search find?", _tuning, "—", "—"),
    Question(
        "06",
        "Does it transfer to USPS without seeing USPS?",
        _usps,
        "—",
        f"source only {P.USPS_SOURCE_ONLY:.1%} (LeNet); adapted {P.USPS_ADAPTED:.1%} (SHOT)",
    ),
    Question(
        "07",
        "Two-digit numbers (MNIST-100)?",
        _mnist100,
        f"two-digit MLP {P.REFERENCE_TWO_DIGIT[0]:.0%} train / {P.REFERENCE_TWO_DIGIT[1]:.0%} dev",
        "—",
    ),
    Question("08", "Does it read people's photos, drawings and numbers, and decline non-digits?", _user_images, "—", "—"),
    Question(
        "09",
        "How accurate can one model and a small ensemble get?",
        _best_model,
        "—",
        f"single {P.DEOTTE_SINGLE[0]:.2%} ± {100 * P.DEOTTE_SINGLE[1]:.2f} (Deotte), {P.AN_SINGLE[0]:.2%} ± "
        f"{100 * P.AN_SINGLE[1]:.2f} (An et al.); 15-CNN ensemble {P.DEOTTE_ENSEMBLE[0]:.3%}",
    ),
    Question("10", "Why do CNNs beat MLPs?", _why_cnns, "explained in words, not tested", "—"),
)


def _answer(q: Question, metrics: dict) -> str | None:
    try:
        return q.answer(metrics)
    except KeyError:  # a metrics file without this question's figures (an older or partial run)
        return None


def headline_table(metrics: list[dict]) -> pd.DataFrame:
    """One row per question whose notebook's metrics file holds its figures."""
    by_number = {m["notebook"][:2]: m for m in metrics}
    rows = []
    for q in QUESTIONS:
        answer = _answer(q, by_number[q.notebook]) if q.notebook in by_number else None
        if answer is not None:
            rows.append(
                {
                    "notebook": by_number[q.notebook]["notebook"],
                    "question": q.question,
                    "this repository (measured)": answer,
                    "tutorial projects": q.reference,
                    "best published": q.published,
                }
            )
    return pd.DataFrame(rows)
