"""The shipped models read the committed corpus of user-style images as a user's files are read."""

import pytest

from digits import corpus


@pytest.fixture(scope="module")
def read():
    return corpus.predictions()


def test_the_corpus_has_every_kind_it_promises():
    table = corpus.labels()
    assert len(table) == len(set(table.file)) and all((corpus.CORPUS_DIR / f).is_file() for f in table.file)
    kinds = set(table.kind)
    for kind in ("pencil", "marker", "blue ink", "lined paper", "squared paper", "coloured paper", "shadow",
                 "phone photo", "EXIF rotation", "small digit, large photo", "USPS digit", "pair, touching",
                 "pair, overlapping a little", "pair, different sizes", "pair, slanted"):  # fmt: skip
        assert kind in kinds
    assert table.label.between(0, 99).all() and (table[~table.two_digit].label <= 9).all()


def test_single_digits_are_read_right(read):
    singles = read[~read.two_digit]
    assert len(singles) >= 200 and singles.correct.mean() >= 0.97


def test_two_digit_numbers_are_read_right(read):
    pairs = read[read.two_digit]
    assert len(pairs) >= 75 and pairs.correct.mean() >= 0.95


def test_accuracy_by_kind_counts_every_image(read):
    table = corpus.accuracy_by_kind(read)
    assert table["images"].sum() == len(read) and table["accuracy"].between(0, 1).all()
