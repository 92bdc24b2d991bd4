"""Reading a user's image: one digit, or a handwritten number of any length, or "not a digit".

    from digits import reader
    reading = reader.read("number.jpg", number=True)   # the shipped model and its decline rule
    reading.label      # "02134" (a string: leading zeros kept), or None when declined
    reading.reason     # None, "blank" or "not a digit"
    reading.digits     # each digit: {"digit", "confidence", "box": [left, top, right, bottom], "accepted",
                       #              "score" (the decline rule's; accepted when >= its threshold), "top3"}

A number is cut into glyphs (``preprocess.glyphs``); a glyph wider than one digit is cut by the seam splitter
into as many digits as its width allows (``preprocess.digit_counts``, ``preprocess.cuts``), and the cut whose
parts look most like digits wins, by the decline rule's score (``digits.decline``). A reading is declined when the image
is blank, or when any of its glyphs is not a digit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from . import decline, evaluate, preprocess

BLANK, NOT_A_DIGIT = "blank", "not a digit"


@dataclass
class Reading:
    """What an image says: ``label`` (the digit string, or None when declined), ``reason`` for declining,
    and every digit read (its ``box`` in the image's pixels, after EXIF rotation)."""

    label: str | None
    reason: str | None = None
    digits: list[dict] = field(default_factory=list)
    confidence: float | None = None  # the least confident digit's probability
    framed: np.ndarray | None = field(default=None, repr=False)  # what the model saw: each digit, 28 x 28 ...
    proba: np.ndarray | None = field(default=None, repr=False)  # ... and its probability of each class

    @property
    def least_score(self) -> float:
        """The decline rule's score of the least digit-like glyph (-inf for a blank image)."""
        return min((d["score"] for d in self.digits), default=-np.inf)

    @property
    def digit_string(self) -> str:
        """Every digit read, declined or not, left to right."""
        return "".join(str(d["digit"]) for d in self.digits)

    def as_dict(self) -> dict:
        """The reading as JSON-ready values (without ``framed`` and ``proba``)."""
        return {k: v for k, v in asdict(self).items() if k not in ("framed", "proba")}

    def in_words(self) -> str:
        if self.label is None and self.reason == BLANK:
            return "blank: no writing found"
        if self.label is None:
            bad = [i + 1 for i, d in enumerate(self.digits) if not d["accepted"]]
            where = f" (glyph {', '.join(map(str, bad))} of {len(self.digits)})" if len(self.digits) > 1 else ""
            return f"not a digit{where}"
        return f"{self.label} ({self.confidence:.1%})"


def ink_of(source) -> np.ndarray | None:
    """``preprocess.read_image`` of a file path or bytes, or None when it finds the image blank (an
    ImageError for anything else that is wrong with it)."""
    try:
        return preprocess.read_image(source)
    except preprocess.ImageError as err:
        if "looks blank" in str(err):
            return None
        raise


def near_blank(ink: np.ndarray, least: int = 8, share: float = 0.025) -> bool:
    """True when no connected piece of clear ink (a quarter of the brightest) spans ``least`` pixels or
    ``share`` of the image's longer side, either way: specks of dust or a dot, however far apart, no writing."""
    pieces, _ = ndimage.label(ink > 0.25 * ink.max(), structure=np.ones((3, 3), bool))
    span = max(max(rows.stop - rows.start, cols.stop - cols.start) for rows, cols in ndimage.find_objects(pieces))
    return span < max(least, share * max(ink.shape))


class Reader:
    """A digit model (uncalibrated, as saved) and its decline rule (``decline.DeclineRule``, or None: never
    decline), reading user images."""

    def __init__(self, rule, remember: int | None = 256):
        self.rule = rule
        self.remember = remember  # how many glyphs' cuts and scores to keep (None: all) ...
        self._options: dict = {}
        self._judged: dict = {}  # ... and framed images' probabilities and scores (32 a glyph)

    @classmethod
    def shipped(cls, path: str | Path | None = None) -> Reader:
        """The shipped digit model (or the .keras file at ``path``) with the rule fitted for it. A model file
        without a rule (``<model>.decline.npz``) reads without declining."""
        import keras

        from . import shipped

        model_path = Path(path) if path else shipped.SHIPPED["mnist10"]
        if not model_path.is_file():
            shipped.load("mnist10", path)  # raises the shipped module's error, which says how to make it
        model = keras.saving.load_model(model_path)
        if decline.decline_path(model_path).is_file() or path is None:
            return cls(decline.DeclineRule.load(model, model_path))
        return cls(decline.DeclineRule("msp", 0.0, decline.Scorer.of(model)))

    def judge(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(probabilities, score, accepted) of framed digits ``x`` (uint8 N x 28 x 28). An image is judged once
        while remembered: the parts a number's reading settles on were judged when its cuts were weighed."""
        keys = [image.tobytes() for image in x]
        if self.remember is not None and len(self._judged) > 32 * self.remember:
            self._judged.clear()
        new = list({key: i for i, key in enumerate(keys) if key not in self._judged}.values())
        if new:
            proba, score, _ = self.rule.judge(x[new])
            self._judged.update((keys[i], (p, sc)) for i, p, sc in zip(new, proba, score, strict=True))
        proba = np.stack([self._judged[key][0] for key in keys])
        score = np.array([self._judged[key][1] for key in keys])
        return proba, score, score >= self.rule.threshold

    def read(self, source, number: bool = False) -> Reading:
        """Read a file path or bytes: one digit, or (``number``) a number of any length."""
        return self.read_ink(ink_of(source), number)

    def read_ink(self, ink: np.ndarray | None, number: bool = False) -> Reading:
        """Read ink (white on black, as :func:`ink_of` gives it; None: blank): see :meth:`read`."""
        if ink is None or ink.max() <= 0 or near_blank(ink):
            return Reading(None, BLANK)
        if not number:
            rows, cols = np.nonzero(ink > preprocess.INK_THRESHOLD * ink.max())
            box = [int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1]
            return self._reading([preprocess.to_mnist(ink)], [box])
        chosen = []  # (box, the glyph's parts) left to right
        for (rows, cols), glyph in preprocess.glyphs(ink):
            box = (rows.start, cols.start, rows.stop, cols.stop)
            total, parts, _ = self._best_split(glyph)
            if chosen and cols.start < chosen[-1][0][3]:  # columns shared with the glyph before: maybe one digit
                (before, before_glyph, before_total, _) = chosen[-1]
                union, union_glyph = _union(before, before_glyph, box, glyph)
                union_total, union_parts, as_digits = self._best_split(union_glyph)
                if as_digits and union_total > before_total + total:  # the two read better as one
                    chosen[-1] = (union, union_glyph, union_total, union_parts)
                    continue
            chosen.append((box, glyph, total, parts))
        framed, boxes = [], []
        for (top, left, _, _), _, _, parts in chosen:
            for part, offset in parts:
                part_rows, part_cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
                framed.append(preprocess.to_mnist(part))
                boxes.append([left + offset + int(part_cols.min()), top + int(part_rows.min()),
                              left + offset + int(part_cols.max()) + 1, top + int(part_rows.max()) + 1])  # fmt: skip
        return self._reading(framed, boxes)

    def _best_split(self, glyph: np.ndarray) -> tuple[float, list[tuple[np.ndarray, int]], bool]:
        """The glyph cut into the number of digits (and at the places) that look most like digits: a glyph no
        wider than a digit is one digit; a wider one is cut by the seam splitter into as many digits as its width
        allows (``preprocess.digit_counts``, ``preprocess.cuts``). The cut wins whose parts have the highest sum
        of log-probabilities of being a digit (the rule's score read as log-odds, as the detector's is), less
        ``width_weight`` times how unlike its digit's width each part's is, less ``split_penalty`` per digit. A
        glyph the rule declines whole stays whole (and declined) when "not a digit" is likelier, by
        ``not_a_digit_margin``, than the best cut's parts are digits on average: a symbol is not cut into
        digit-like pieces. The three weights are chosen on validation (:func:`choose_segmentation`). Returns that
        sum, the parts (each with its left column), and whether they are read as digits (False: the glyph is
        declined whole)."""
        key = (glyph.shape, hash(glyph.tobytes()))
        if key not in self._options:  # the cuts and their scores do not depend on the weights: kept
            if self.remember is not None and len(self._options) > self.remember:
                self._options.clear()
            self._options[key] = self._weigh_cuts(glyph)
        options, sums, log_not_a_digit, whole_declined = self._options[key]
        sizes = np.array([len(o) for o in options])
        totals = sums[:, 0] - self.rule.width_weight * sums[:, 1] - self.rule.split_penalty * sizes
        best = int(np.argmax(totals))
        typical = sums[best, 0] / sizes[best]  # how likely a digit the best cut's parts are, on average
        if whole_declined and log_not_a_digit - self.rule.not_a_digit_margin > typical:
            return float(log_not_a_digit - self.rule.not_a_digit_margin), [(glyph, 0)], False  # not a digit
        return float(totals[best]), options[best], True

    def _weigh_cuts(self, glyph: np.ndarray):
        """Every cut of ``glyph`` :meth:`_best_split` weighs, with each cut's summed log-probability of its parts
        being digits and how unlike their digits' widths they are; the whole glyph's log-probability of not
        being a digit, and whether the rule declines it whole."""
        counts = preprocess.digit_counts(glyph.shape[1], glyph.shape[0])
        options = [cut for k in counts for cut in preprocess.cuts(glyph, k)] or [[(glyph, 0)]]
        parts = [glyph] + [part for option in options for part, _ in option]  # the whole glyph first
        proba, score, accepted = self.judge(np.stack([preprocess.to_mnist(part) for part in parts]))
        log_digit = -np.logaddexp(0, -score)  # the detector's log-probability that a part is a digit
        unlike = np.zeros(len(parts))  # how unlike its digit's width a part's is, in squared sds
        if self.rule.widths is not None:
            mean, sd = self.rule.widths[proba.argmax(axis=1)].T
            unlike = ((np.array([decline.aspect(part) for part in parts]) - mean) / sd) ** 2 / 2
        bounds = 1 + np.cumsum([0] + [len(o) for o in options])
        sums = [(log_digit[a:b].sum(), unlike[a:b].sum()) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return options, np.array(sums), -np.logaddexp(0, score[0]), not accepted[0]

    def _reading(self, framed: list[np.ndarray], boxes: list[list[int]]) -> Reading:
        proba, score, accepted = self.judge(np.stack(framed))
        digits = []
        for p, sc, box, ok in zip(proba, score, boxes, accepted, strict=True):
            top = evaluate.top_k(p)
            digits.append({"digit": top["label"], "confidence": top["confidence"], "box": box, "accepted": bool(ok),
                           "score": round(float(sc), 3), "top3": top["top3"]})  # fmt: skip
        reading = Reading(None, NOT_A_DIGIT, digits, round(float(proba.max(axis=1).min()), 4), np.stack(framed), proba)
        if accepted.all():
            reading.label, reading.reason = reading.digit_string, None
        return reading


def written_number(glyphs: list[np.ndarray], gaps: list[int]) -> np.ndarray:
    """Glyphs (ink, white on black) written side by side, ``gaps[i]`` pixels between the ink of glyph i and
    i + 1 (negative: they overlap), bottoms aligned, with a margin."""

    def cropped(g):
        rows, cols = np.flatnonzero(g.max(axis=1) > 0.1), np.flatnonzero(g.max(axis=0) > 0.1)
        return g[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]

    glyphs = [cropped(g) for g in glyphs]
    height = max(g.shape[0] for g in glyphs)
    width = sum(g.shape[1] for g in glyphs) + sum(gaps) + 2 * height
    out, x = np.zeros((height + height // 2, max(width, height)), np.float32), height
    for g, gap in zip(glyphs, [*gaps, 0], strict=True):
        region = out[height // 4 + height - g.shape[0] : height // 4 + height, x : x + g.shape[1]]
        np.maximum(region, g, out=region)
        x += g.shape[1] + gap
    return out


def synthetic_numbers(x: np.ndarray, y: np.ndarray, count: int, rng, intruders: bool = False, on_paper: bool = False):
    """``count`` numbers of 1-8 real digits (``x``: uint8 N x 28 x 28, labels ``y``), three times MNIST's size,
    apart, touching or overlapping a little, some of different sizes: their ink and digit strings. With
    ``intruders``, one glyph of each is a generated letter, symbol or doodle (label None). ``on_paper``: a
    quarter of them slanted, each written in one of ``paper.STYLES`` (pens, papers, a phone photo), saved as a
    file and read back as the reader reads a user's file (ink None where it reads blank)."""
    from PIL import Image

    from . import nondigits, paper

    def big(image, height):
        if on_paper:  # a pen's sharp edge, as the corpus is written
            return paper.dataset_ink(image, round(height))
        size = round(28 * height / 20)
        return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC), np.float32) / 255

    out = []
    for _ in range(count):
        length, height = int(rng.integers(1, 9)), int(rng.integers(50, 80))
        picks = rng.choice(len(x), length)
        glyphs = [big(x[i], height * (rng.uniform(0.7, 1) if rng.random() < 0.2 else 1)) for i in picks]
        label = "".join(str(int(y[i])) for i in picks)
        if intruders:
            where = int(rng.integers(length))
            kind = rng.choice(["letter, typeset", "letter, pen", "symbol", "doodle"])
            glyphs[where] = nondigits.generate(kind, rng, height)[0]
            label = None
        if on_paper and rng.random() < 0.25:
            shear = rng.uniform(0.15, 0.3)
            glyphs = [paper.sheared(g, shear) for g in glyphs]
        spacing = rng.choice(["apart", "touching", "overlapping"], p=[0.5, 0.3, 0.2])
        low, high = {"apart": (0.08, 0.3), "touching": (-0.02, 0.0), "overlapping": (-0.08, -0.02)}[spacing]
        ink = written_number(glyphs, [round(rng.uniform(low, high) * height) for _ in range(length - 1)])
        if on_paper:
            ink = ink_of(paper.photographed(ink, int(rng.integers(len(paper.STYLES))), rng))
        out.append((ink, label))
    return out


SEGMENTATION_GRID = {  # the weights of Reader._best_split tried on validation
    "split_penalty": (0.0, 2.0, 6.0),
    "not_a_digit_margin": (1.0, 3.0, 6.0, np.inf),
    "width_weight": (0.0, 1.0),
}


def choose_segmentation(rule, numbers, intruded, grid: dict = SEGMENTATION_GRID) -> tuple[tuple, dict]:
    """The weights of :meth:`Reader._best_split` (every combination of ``grid``) that read most validation
    ``numbers`` exactly plus decline most ``intruded`` ones (each a list of (ink, label) from
    :func:`synthetic_numbers`), the first on a tie; set on ``rule``. Returns them and every combination's
    shares."""
    import itertools

    results, reader = {}, Reader(rule, remember=None)  # each glyph is cut and scored once, for every combination
    for values in itertools.product(*grid.values()):
        for name, value in zip(grid, values, strict=True):
            setattr(rule, name, value)
        read_right = np.mean([reader.read_ink(ink, number=True).label == label for ink, label in numbers])
        declined = np.mean([reader.read_ink(ink, number=True).label is None for ink, _ in intruded])
        results[values] = {"numbers read exactly": float(read_right), "with a non-digit, declined": float(declined)}
    best = max(results, key=lambda v: sum(results[v].values()))
    for name, value in zip(grid, best, strict=True):
        setattr(rule, name, value)
    return best, results


def _union(box_a, ink_a, box_b, ink_b):
    """Two glyphs (box as top, left, bottom, right, and the ink in it) as one."""
    box = (min(box_a[0], box_b[0]), min(box_a[1], box_b[1]), max(box_a[2], box_b[2]), max(box_a[3], box_b[3]))
    ink = np.zeros((box[2] - box[0], box[3] - box[1]), np.float32)
    for (top, left, bottom, right), part in ((box_a, ink_a), (box_b, ink_b)):
        region = ink[top - box[0] : bottom - box[0], left - box[1] : right - box[1]]
        np.maximum(region, part, out=region)
    return box, ink


def read(source, number: bool = False, reader: Reader | None = None) -> Reading:
    """Read one image (file path or bytes) with the shipped model, or ``reader``: see the module's docstring."""
    return (reader or _shipped()).read(source, number)


_SHIPPED: dict[str, Reader] = {}


def _shipped() -> Reader:
    if "reader" not in _SHIPPED:
        _SHIPPED["reader"] = Reader.shipped()
    return _SHIPPED["reader"]
