"""The shipped model and its decline rule read the committed corpus of user-style images as a user's files are
read (``predict``, ``predict --number``). The figures asserted are the targets the reader is built to; those it
does not reach yet are strict expected failures, so the day one is reached the suite says so (notebook 08's
Table 9 has the measured figures)."""

import pytest

from digits import corpus

NOT_REACHED = pytest.mark.xfail(strict=True, reason="a target of the reader not reached yet (notebook 08, Table 9)")


@pytest.fixture(scope="module")
def read():
    return corpus.predictions()


def _share(read, group):
    return read[read.group == group].correct.mean()


def test_the_corpus_has_every_kind_it_promises():
    table = corpus.labels()
    assert len(table) == len(set(table.file)) and all((corpus.CORPUS_DIR / f).is_file() for f in table.file)
    kinds = set(table.kind)
    for kind in ("pencil", "marker", "blue ink", "lined paper", "squared paper", "coloured paper", "shadow",
                 "phone photo", "EXIF rotation", "small digit, large photo", "USPS digit", "pair, touching",
                 "pair, overlapping a little", "pair, different sizes", "pair, slanted", "number, apart",
                 "number, touching", "not a digit: letter, pen", "not a digit: doodle",
                 "not a digit: near-blank paper"):  # fmt: skip
        assert kind in kinds
    length = table.label.str.len()
    assert table.label.str.fullmatch(r"\d*").all()
    assert (length[table.group == "digit"] == 1).all() and (length[table.group == "two-digit number"] == 2).all()
    numbers = length[table.group == "number of 3-8 digits"]
    assert len(numbers) >= 60 and numbers.between(3, 8).all() and set(numbers) == set(range(3, 9))
    assert (table.group == "not a digit").sum() >= 60 and (length[table.group == "not a digit"] == 0).all()


def test_the_corpus_is_read_well_below_the_targets_too(read):
    """What the reader holds today, well short of the targets below: a regression net, not a target."""
    assert _share(read, "digit") >= 0.97 and _share(read, "two-digit number") >= 0.9
    assert _share(read, "number of 3-8 digits") >= 0.88 and _share(read, "not a digit") >= 0.85


@NOT_REACHED
def test_single_digits_are_read_right(read):
    assert (read.group == "digit").sum() >= 200 and _share(read, "digit") >= 0.98


@NOT_REACHED
def test_two_digit_numbers_are_read_right(read):
    assert (read.group == "two-digit number").sum() >= 75 and _share(read, "two-digit number") >= 0.96


@NOT_REACHED
def test_numbers_of_three_to_eight_digits_are_read_exactly(read):
    assert _share(read, "number of 3-8 digits") >= 0.95


@NOT_REACHED
def test_non_digits_are_declined(read):
    assert _share(read, "not a digit") >= 0.90


def test_few_of_the_corpus_digits_are_declined(read):
    digits = read[read.group != "not a digit"]
    blank = digits[digits.reason == "blank"].label.str.len().sum()
    assert (digits.digits_declined.sum() + blank) / digits.label.str.len().sum() <= 0.02


def test_accuracy_by_kind_counts_every_image(read):
    table = corpus.accuracy_by_kind(read)
    assert table["images"].sum() == len(read) and table["accuracy"].between(0, 1).all()
    assert table["declined"].between(0, 1).all()


def test_two_digit_numbers_are_still_read_by_the_two_digit_model():
    """``predict --two-digit`` reads the pairs as it did before numbers of any length (the 0-99 model)."""
    from digits import evaluate, preprocess, shipped

    model, table = shipped.load("mnist100"), corpus.labels()
    pairs = table[table.group == "two-digit number"]
    right = [
        evaluate.most_confident(model, preprocess.prepare_candidates(corpus.CORPUS_DIR / f, two_digit=True))[0].argmax()
        == int(label)
        for f, label in zip(pairs.file, pairs.label, strict=True)
    ]
    assert len(right) >= 75 and sum(right) / len(right) >= 0.95
