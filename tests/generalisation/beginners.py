"""Blind batch (eighth session): written by a helper that never read the rules; kept as written."""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=6868): torch.manual_seed(s)


# Theme: day one of a deep-learning workshop. MNIST / CIFAR / Iris / house prices, simulated with
# random tensors of the right shapes and ranges, and the notebooks the instructor walks past.

def _labels(n, k):
    # balanced class labels 0..k-1, shuffled
    return (torch.arange(n) % k)[torch.randperm(n)]


def _digits01(n):
    # MNIST-like strokes in [0, 1] (what ToTensor gives): blobs of ink on a black background
    base = F.interpolate(torch.rand(n, 1, 7, 7), size=28, mode="bilinear", align_corners=False)
    return (base > 0.6).float() * (0.6 + 0.4 * torch.rand(n, 1, 28, 28))


def _mnist(n):
    # ... followed by transforms.Normalize(dataset mean, dataset std): mean ~0, std ~1
    x = _digits01(n)
    return (x - x.mean()) / x.std()


def _cifar(n):
    # CIFAR-like RGB images (smooth structure + texture), normalised per channel
    base = F.interpolate(torch.randn(n, 3, 4, 4), size=32, mode="bilinear", align_corners=False)
    x = base + 0.3 * torch.randn(n, 3, 32, 32)
    return (x - x.mean((0, 2, 3), keepdim=True)) / x.std((0, 2, 3), keepdim=True)


def _iris(n):
    # standardised Iris features (sepal/petal length/width), 3 balanced species
    return torch.randn(n, 4), _labels(n, 3)


# =============================================================================== buggy notebooks

@case
def workshop_mnist_mlp_forward_returns_softmax_into_ce():
    # Bug: forward ends with F.softmax, and the loss is CrossEntropyLoss (softmax applied twice).
    _seed()

    class DigitNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 128)
            self.fc2 = nn.Linear(128, 64)
            self.fc3 = nn.Linear(64, 10)

        def forward(self, x):
            x = x.view(x.size(0), -1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return F.softmax(self.fc3(x), dim=1)

    m = DigitNet()
    return dict(model=m, inputs=_mnist(64), target=_labels(64, 10), loss=nn.CrossEntropyLoss(),
                expect=["double-softmax"])


@case
def workshop_cifar_cnn_sigmoid_head_cross_entropy():
    # Bug: the CIFAR-10 CNN ends with nn.Sigmoid() and is trained with CrossEntropyLoss.
    _seed()
    m = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 8 * 8, 64), nn.ReLU(), nn.Linear(64, 10),
        nn.Sigmoid(),
    )
    return dict(model=m, inputs=_cifar(32), target=_labels(32, 10), loss=nn.CrossEntropyLoss(),
                expect=["loss-mismatch", "double-softmax"])


@case
def workshop_mnist_cnn_pool_output_straight_into_fc():
    # Bug: no flatten between the conv stack and the Linear layer; fc gets (B, 16, 4, 4). Raises.
    _seed()

    class ConvDigits(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 5)
            self.conv2 = nn.Conv2d(8, 16, 5)
            self.fc = nn.Linear(16 * 4 * 4, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            return self.fc(x)  # forgot x = torch.flatten(x, 1)

    m = ConvDigits()
    return dict(model=m, inputs=_mnist(32), target=_labels(32, 10), loss=nn.CrossEntropyLoss(),
                expect=["shape-mismatch"], where=["fc"])


@case
def workshop_linear_784_fed_image_tensor_unflattened():
    # Bug: the DataLoader batch (B, 1, 28, 28) goes straight into Linear(784, 128). Raises.
    _seed()
    m = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    return dict(model=m, inputs=_mnist(32), target=_labels(32, 10), loss=nn.CrossEntropyLoss(),
                expect=["shape-mismatch"], where=["0", "input"])


@case
def workshop_digit_labels_read_as_one_to_ten():
    # Bug: labels were stored 1..10 (MATLAB-style); CrossEntropy over 10 logits needs 0..9.
    _seed()
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    y = _labels(40, 10) + 1
    return dict(model=m, inputs=_mnist(40), target=y, loss=nn.CrossEntropyLoss(),
                expect=["wrong-target"], where=["target", "loss"])


@case
def workshop_digits_one_hot_float_into_nllloss():
    # Bug: one-hot float targets (B, 10) given to NLLLoss, which wants class indices. Raises.
    _seed()
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10), nn.LogSoftmax(dim=1))
    y = F.one_hot(_labels(32, 10), 10).float()
    return dict(model=m, inputs=_mnist(32), target=y, loss=nn.NLLLoss(),
                expect=["wrong-target", "loss-mismatch"], where=["target", "loss"])


@case
def workshop_mse_between_ten_logits_and_digit_column():
    # Bug: MSELoss between (B, 10) logits and the digit label as a float column (B, 1); broadcasts.
    _seed()
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    y = _labels(32, 10).float().unsqueeze(1)
    return dict(model=m, inputs=_mnist(32), target=y, loss=nn.MSELoss(),
                expect=["loss-mismatch", "wrong-target"])


@case
def workshop_cifar10_single_sigmoid_unit_bceloss():
    # Bug: BCELoss (binary) for CIFAR-10: one sigmoid output and targets 0..9. Raises.
    _seed()

    class TinyCifar(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4))
            self.head = nn.Linear(16 * 16, 1)

        def forward(self, x):
            return torch.sigmoid(self.head(self.features(x).flatten(1)))

    m = TinyCifar()
    y = _labels(32, 10).float().unsqueeze(1)
    return dict(model=m, inputs=_cifar(32), target=y, loss=nn.BCELoss(),
                expect=["wrong-target", "loss-mismatch"])


@case
def workshop_mnist_mlp_three_linears_no_relu():
    # Bug: no activation between the Linear layers; the "deep" MLP is one linear map.
    _seed()
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.Linear(128, 64), nn.Linear(64, 10))
    return dict(model=m, inputs=_mnist(64), target=_labels(64, 10), loss=nn.CrossEntropyLoss(),
                expect=["missing-nonlinearity"], where=["1", "2", "3"])


@case
def workshop_mnist_mlp_sgd_lr_ten():
    # Bug: SGD with lr=10 ("bigger learns faster"); the loss blows up within a few steps.
    _seed()
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    return dict(model=m, inputs=_mnist(64), target=_labels(64, 10), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=10.0), steps=20,
                expect=["lr-too-high"])


@case
def workshop_iris_mlp_sgd_lr_1e_minus_7():
    # Bug: SGD lr=1e-7; 20 steps later nothing has moved.
    _seed()
    m = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    x, y = _iris(48)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=1e-7), steps=20,
                expect=["lr-too-low"])


@case
def workshop_mnist_raw_0_255_pixels_into_mlp():
    # Bug: ToTensor/Normalize skipped: raw 0..255 pixel values go into the MLP.
    _seed()
    x = (_digits01(32) * 255).round().flatten(1)  # 0..255, never divided by 255 or normalised
    m = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    return dict(model=m, inputs=x, target=_labels(32, 10), loss=nn.CrossEntropyLoss(),
                expect=["unnormalized-input"], where=["input"])


@case
def workshop_iris_petal_length_in_hundreds():
    # Bug: unscaled Iris features, petal length recorded in 1/100 cm (100..690) next to features ~1..8.
    _seed()
    n = 48
    sepal_len = 4.3 + 3.6 * torch.rand(n)
    sepal_wid = 2.0 + 2.4 * torch.rand(n)
    petal_len = (1.0 + 5.9 * torch.rand(n)) * 100
    petal_wid = 0.1 + 2.4 * torch.rand(n)
    x = torch.stack([sepal_len, sepal_wid, petal_len, petal_wid], 1)
    m = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    return dict(model=m, inputs=x, target=_labels(n, 3), loss=nn.CrossEntropyLoss(),
                expect=["unnormalized-input"], where=["input"])


@case
def workshop_autoencoder_forward_returns_input():
    # Bug: forward computes the reconstruction but returns `x` (the input): no parameter gets a gradient.
    _seed()

    class AE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 16))
            self.dec = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 784), nn.Sigmoid())

        def forward(self, x):
            z = self.enc(x)
            recon = self.dec(z)
            return x  # should be `return recon`

    m = AE()
    x = _digits01(32).flatten(1)
    return dict(model=m, inputs=x, target=x.clone(), loss=nn.MSELoss(),
                expect=["no-gradient"])


@case
def workshop_mlp_all_weights_zero_init():
    # Bug: every weight and bias set to zero "to start fair": hidden units stay identical (all zero).
    _seed()
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    for p in m.parameters():
        nn.init.zeros_(p)
    return dict(model=m, inputs=_mnist(32), target=_labels(32, 10), loss=nn.CrossEntropyLoss(),
                expect=["bad-init", "constant-output", "no-gradient", "dead-relu"])


@case
def workshop_hand_rolled_mlp_randn_weights():
    # Bug: weights created with torch.randn (std 1) on 784-wide layers: activations grow ~28x per layer.
    _seed()

    class ScratchMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.W1 = nn.Parameter(torch.randn(784, 128))
            self.b1 = nn.Parameter(torch.zeros(128))
            self.W2 = nn.Parameter(torch.randn(128, 128))
            self.b2 = nn.Parameter(torch.zeros(128))
            self.W3 = nn.Parameter(torch.randn(128, 10))
            self.b3 = nn.Parameter(torch.zeros(10))

        def forward(self, x):
            x = x.reshape(x.shape[0], -1)
            h = torch.relu(x @ self.W1 + self.b1)
            h = torch.relu(h @ self.W2 + self.b2)
            return h @ self.W3 + self.b3

    m = ScratchMLP()
    return dict(model=m, inputs=_mnist(32), target=_labels(32, 10), loss=nn.CrossEntropyLoss(),
                expect=["bad-init", "exploding-activations", "exploding-gradients"])


@case
def workshop_hidden_bias_minus_ten_kills_relus():
    # Bug: "initialise biases negative so the network is sparse": bias -10 leaves every ReLU at zero.
    _seed()
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    nn.init.constant_(m[1].bias, -10.0)
    return dict(model=m, inputs=_mnist(32), target=_labels(32, 10), loss=nn.CrossEntropyLoss(),
                expect=["dead-relu", "constant-output", "bad-init"], where=["1", "2"])


@case
def workshop_labels_from_float_list_for_cross_entropy():
    # Bug: labels parsed from a CSV as floats and wrapped with torch.tensor(...): float targets for CE. Raises.
    _seed()
    m = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                      nn.Flatten(), nn.Linear(16, 10))
    labels = [float(v) for v in _labels(32, 10).tolist()]  # e.g. "3.0" from the csv
    y = torch.tensor(labels)
    return dict(model=m, inputs=_mnist(32), target=y, loss=nn.CrossEntropyLoss(),
                expect=["wrong-target"], where=["target", "loss"])


@case
def workshop_iris_targets_column_shape_b_by_1():
    # Bug: targets taken as df[["species"]] -> shape (B, 1) long; CrossEntropyLoss wants (B,). Raises.
    _seed()
    m = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    x, y = _iris(48)
    return dict(model=m, inputs=x, target=y.unsqueeze(1), loss=nn.CrossEntropyLoss(),
                expect=["wrong-target"], where=["target", "loss"])


@case
def workshop_dropout_p_one_in_mlp():
    # Bug: nn.Dropout(p=1.0) ("keep probability 1") zeroes every hidden unit in training mode.
    _seed()

    class DropNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 128)
            self.drop = nn.Dropout(p=1.0)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = torch.flatten(x, 1)
            return self.fc2(self.drop(F.relu(self.fc1(x))))

    m = DropNet()
    return dict(model=m, inputs=_mnist(32), target=_labels(32, 10), loss=nn.CrossEntropyLoss(),
                expect=["constant-output", "no-gradient"])


@case
def workshop_house_price_single_row_batchnorm_train_mode():
    # Bug: one house (batch of 1) through an MLP with BatchNorm1d still in training mode. Raises.
    _seed()
    m = nn.Sequential(nn.Linear(13, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 1))
    x = torch.randn(1, 13)
    return dict(model=m, inputs=x, target=torch.randn(1, 1), loss=nn.MSELoss(),
                expect=["train-eval-mode"], where=["1", "input"])


# =============================================================================== healthy notebooks

@case
def workshop_ok_mnist_mlp_relu_cross_entropy():
    _seed()
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                      nn.Linear(64, 10))
    return dict(model=m, inputs=_mnist(64), target=_labels(64, 10), loss=nn.CrossEntropyLoss(),
                expect=[])


@case
def workshop_ok_lenet5_mnist_adam():
    _seed()

    class LeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(1, 6, 5, padding=2)
            self.c3 = nn.Conv2d(6, 16, 5)
            self.f5 = nn.Linear(16 * 5 * 5, 120)
            self.f6 = nn.Linear(120, 84)
            self.out = nn.Linear(84, 10)

        def forward(self, x):
            # the classic 1998 recipe: tanh activations and average pooling
            x = F.avg_pool2d(torch.tanh(self.c1(x)), 2)
            x = F.avg_pool2d(torch.tanh(self.c3(x)), 2)
            x = torch.flatten(x, 1)
            x = torch.tanh(self.f5(x))
            x = torch.tanh(self.f6(x))
            return self.out(x)

    m = LeNet5()
    return dict(model=m, inputs=_mnist(40), target=_labels(40, 10), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def workshop_ok_cifar_cnn_batchnorm_dropout():
    _seed()

    class CifarNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.block1 = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                                        nn.MaxPool2d(2))
            self.block2 = nn.Sequential(nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                        nn.MaxPool2d(2))
            self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 8 * 8, 128), nn.ReLU(),
                                            nn.Dropout(0.5), nn.Linear(128, 10))

        def forward(self, x):
            return self.classifier(self.block2(self.block1(x)))

    m = CifarNet()
    return dict(model=m, inputs=_cifar(32), target=_labels(32, 10), loss=nn.CrossEntropyLoss(), expect=[])


@case
def workshop_ok_logistic_regression_bce_with_logits_sgd():
    _seed()
    n = 64
    x = torch.randn(n, 5)
    w_true = torch.tensor([1.5, -2.0, 0.5, 1.0, -0.5])
    y = ((x @ w_true) > 0).float().unsqueeze(1)
    m = nn.Linear(5, 1)
    return dict(model=m, inputs=x, target=y, loss=nn.BCEWithLogitsLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.1), steps=20, expect=[])


@case
def workshop_ok_house_prices_linear_regression_sgd():
    _seed()
    n = 64
    x = torch.randn(n, 8)  # standardised: rooms, area, age, distance, ...
    w_true = torch.tensor([[0.8], [1.2], [-0.5], [-0.7], [0.3], [0.0], [0.4], [-0.2]])
    y = x @ w_true + 0.1 * torch.randn(n, 1)  # standardised price
    m = nn.Linear(8, 1)
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.01), steps=25, expect=[])


@case
def workshop_ok_iris_mlp_adam_1e_2():
    _seed()

    class IrisNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(4, 16)
            self.out = nn.Linear(16, 3)

        def forward(self, x):
            return self.out(F.relu(self.hidden(x)))

    m = IrisNet()
    x, y = _iris(48)
    x[:, :3] += 0.8 * F.one_hot(y, 3).float()  # species shifts the features a little
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-2), steps=20, expect=[])


@case
def workshop_ok_mnist_autoencoder_sigmoid_bce():
    _seed()

    class AutoEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 32))
            self.decoder = nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 784), nn.Sigmoid())

        def forward(self, x):
            return self.decoder(self.encoder(x))

    m = AutoEncoder()
    pixels = _digits01(32).flatten(1)  # pixels in [0, 1] after ToTensor: the BCE target
    x = (pixels - pixels.mean()) / pixels.std()  # the encoder sees normalised pixels
    return dict(model=m, inputs=x, target=pixels, loss=nn.BCELoss(), expect=[])


@case
def workshop_ok_fashion_cnn_gelu_adamw():
    _seed()
    m = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.GELU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.GELU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.GELU(),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 10),
    )
    return dict(model=m, inputs=_mnist(40), target=_labels(40, 10), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=1e-2), steps=20, expect=[])


@case
def workshop_ok_titanic_embeddings_plus_numeric_dict_inputs():
    _seed()

    class Passenger(nn.Module):
        def __init__(self):
            super().__init__()
            self.pclass = nn.Embedding(3, 4)
            self.sex = nn.Embedding(2, 2)
            self.mlp = nn.Sequential(nn.Linear(4 + 2 + 3, 32), nn.ReLU(), nn.Linear(32, 1))

        def forward(self, pclass, sex, numeric):
            z = torch.cat([self.pclass(pclass), self.sex(sex), numeric], dim=1)
            return self.mlp(z)

    n = 48
    inputs = dict(pclass=torch.randint(0, 3, (n,)), sex=torch.randint(0, 2, (n,)),
                  numeric=torch.randn(n, 3))  # standardised age, fare, family size
    y = (torch.arange(n) % 2)[torch.randperm(n)].float().unsqueeze(1)
    return dict(model=Passenger(), inputs=inputs, target=y, loss=nn.BCEWithLogitsLoss(), expect=[])


@case
def workshop_ok_mnist_rows_as_sequence_lstm():
    _seed()

    class RowLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(28, 64, batch_first=True)
            self.fc = nn.Linear(64, 10)

        def forward(self, img):
            seq = img.squeeze(1)  # (B, 28 rows, 28 pixels)
            out, (h, c) = self.lstm(seq)
            return self.fc(h[-1])

    m = RowLSTM()
    return dict(model=m, inputs=_mnist(32), target=_labels(32, 10), loss=nn.CrossEntropyLoss(), expect=[])


@case
def workshop_ok_cifar_tiny_resnet():
    _seed()

    class BasicBlock(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c)
            self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + x)

    class TinyResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
            self.layers = nn.ModuleList([BasicBlock(32), BasicBlock(32)])
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            x = self.stem(x)
            for blk in self.layers:
                x = blk(x)
            return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))

    m = TinyResNet()
    return dict(model=m, inputs=_cifar(20), target=_labels(20, 10), loss=nn.CrossEntropyLoss(),
                expect=[])


@case
def workshop_ok_pytorch_example_net_log_softmax_nll():
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, 3, 1)
            self.conv2 = nn.Conv2d(16, 32, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.fc1 = nn.Linear(32 * 12 * 12, 64)
            self.dropout2 = nn.Dropout(0.5)
            self.fc2 = nn.Linear(64, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = self.dropout2(x)
            return F.log_softmax(self.fc2(x), dim=1)

    m = Net()
    return dict(model=m, inputs=_mnist(20), target=_labels(20, 10), loss=nn.NLLLoss(), expect=[])


@case
def workshop_ok_cifar_patch_transformer():
    _seed()

    class PatchViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch = nn.Conv2d(3, 64, kernel_size=4, stride=4)  # 8x8 = 64 patches
            self.encoder = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128,
                                                      dropout=0.1, batch_first=True, norm_first=True)
            self.norm = nn.LayerNorm(64)
            self.head = nn.Linear(64, 10)

        def forward(self, x):
            tokens = self.patch(x).flatten(2).transpose(1, 2)  # (B, 64, 64)
            tokens = self.encoder(tokens)
            return self.head(self.norm(tokens.mean(dim=1)))

    m = PatchViT()
    return dict(model=m, inputs=_cifar(20), target=_labels(20, 10), loss=nn.CrossEntropyLoss(), expect=[])
