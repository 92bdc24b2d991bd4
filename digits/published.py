"""Figures from the literature and the reference projects that the notebooks put their results next to (test
accuracy on MNIST unless named), as their authors report them; each line names its source."""

KERAS_SIMPLE_CONVNET = (0.991, 0.992)  # Keras "simple MNIST convnet": ~99.1–99.2% after 15 epochs
DEOTTE_SINGLE = (0.9964, 0.0005)  # Deotte, Kaggle "MNIST-CNN-99.75": one CNN, mean ± sd over 1,500 nets, 30 epochs
DEOTTE_ENSEMBLE = (0.99745, 0.0002)  # the same kernel: ensembles of 15 CNNs
AN_SINGLE = (0.9970, 0.0003)  # An et al. 2020: last epoch of 150 with EMA weights, mean ± sd over 30 seeds
USPS_SOURCE_ONLY = 0.896  # MNIST -> USPS, never trained on USPS (LeNet; SHOT's baseline)
USPS_ADAPTED = 0.980  # MNIST -> USPS with unlabeled USPS images (SHOT)
REFERENCE_MLP, REFERENCE_CNN = 0.980, 0.987  # the reference projects' MLP and CNN
REFERENCE_CNN3 = 0.9922  # the reference projects' CNN#3
REFERENCE_BASIC, REFERENCE_IMPROVED = 0.95, 0.98  # the reference projects' basic and improved CNN (about)
REFERENCE_TWO_DIGIT = (0.99, 0.87)  # the reference projects' two-digit MLP: training and dev accuracy


def gap(ours: float, theirs: float) -> str:
    """How far an accuracy of ours lies from a published one, in words: '0.12 points above theirs'."""
    points = 100 * (ours - theirs)
    return f"{abs(points):.2f} points {'above' if points >= 0 else 'below'} theirs"
