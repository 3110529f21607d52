"""Blind batch 48 (seventh session): an instructor's workshop: beginners' classic mistakes in tutorial
models (MNIST, CIFAR, tabular, text, the char-RNN name classifier) and the tutorials' own healthy
models, written by a helper that never read the rules. It found a ReLU after the classifier head
(NBD419), a Linear applied to an image without flatten (NBD114), and a seq-first LogSoftmax(dim=0) read
against the wrong batch size. Same format as cases.py, with its building blocks.
"""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=4848): torch.manual_seed(s)


# An instructor's workshop: beginners' classic mistakes in tutorial-style models
# (MNIST, CIFAR, tabular, text, names/char-RNN) and the tutorials' own healthy models.

def _balanced(n, k):
    # balanced class labels 0..k-1, shuffled
    return torch.arange(n)[torch.randperm(n)] % k


N_LETTERS = 57      # ascii letters + " .,;'"
N_LANGS = 18        # languages in the names data set


def _one_hot_names(batch, length):
    # (T, N, 57) one-hot letters, as in the char-RNN name classification tutorial
    idx = torch.randint(0, 52, (length, batch))
    return F.one_hot(idx, N_LETTERS).float()


class _BlitzNet(nn.Module):
    # The PyTorch 60-minute blitz CIFAR-10 network
    def __init__(self, in_ch=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class _MnistExampleNet(nn.Module):
    # The official pytorch/examples MNIST network (Dropout2d variant)
    def __init__(self, log_softmax=True):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout2d(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)
        self.log_softmax = log_softmax

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        x = self.fc2(x)
        if self.log_softmax:
            return F.log_softmax(x, dim=1)
        return x


# =============================================================== buggy
@case
def mnist_cnn_forgot_flatten_before_fc():
    # BUG: the conv features (N, 32, 7, 7) go straight into Linear(32*7*7, 10) without flattening.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
            self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
            self.fc = nn.Linear(32 * 7 * 7, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            return self.fc(x)  # should be self.fc(x.flatten(1))

    return dict(model=Net(), inputs=torch.randn(16, 1, 28, 28), target=_balanced(16, 10),
                loss=nn.CrossEntropyLoss(), expect=["shape-mismatch"], where=["fc"])


@case
def blitz_lenet_16x5x5_fed_28px_mnist_digits():
    # BUG: the blitz net's fc1 expects 16*5*5 (from 32x32 CIFAR); 28x28 MNIST digits give 16*4*4.
    _seed()
    m = _BlitzNet(in_ch=1)
    return dict(model=m, inputs=torch.randn(20, 1, 28, 28), target=_balanced(20, 10),
                loss=nn.CrossEntropyLoss(), expect=["shape-mismatch"], where=["fc1", "input"])


@case
def fashion_mlp_softmax_layer_then_cross_entropy():
    # BUG: the model ends in nn.Softmax and CrossEntropyLoss applies log-softmax again.
    _seed()
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10), nn.Softmax(dim=1))
    return dict(model=m, inputs=torch.randn(40, 1, 28, 28), target=_balanced(40, 10),
                loss=nn.CrossEntropyLoss(), expect=["double-softmax"])


@case
def mnist_mlp_mse_between_logits_and_digit_column():
    # BUG: MSE between the 10 logits and the digit label as a float column (broadcast to every logit).
    _seed()
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    y = _balanced(30, 10).float().unsqueeze(1)  # (30, 1) values 0..9
    return dict(model=m, inputs=torch.randn(30, 1, 28, 28), target=y, loss=nn.MSELoss(),
                expect=["loss-mismatch", "wrong-target"])


@case
def digit_demo_single_image_predicted_in_train_mode():
    # BUG: no model.eval() before predicting one image: dropout and batch-norm still in training mode.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2))
            self.drop = nn.Dropout(0.5)
            self.fc = nn.Linear(32 * 7 * 7, 10)

        def forward(self, x):
            return self.fc(self.drop(self.features(x).flatten(1)))

    m = Net()  # freshly loaded weights; model.eval() forgotten
    return dict(model=m, inputs=torch.randn(1, 1, 28, 28), expect=["train-eval-mode"])


@case
def cifar_tanh_cnn_plain_sgd_lr_1():
    # BUG: SGD with lr=1 (meant 0.01) on a small tanh CIFAR CNN: the loss climbs step after step.
    _seed()
    m = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 8 * 8, 64), nn.Tanh(), nn.Linear(64, 10))
    return dict(model=m, inputs=torch.randn(30, 3, 32, 32), target=_balanced(30, 10),
                loss=nn.CrossEntropyLoss(), optimizer=torch.optim.SGD(m.parameters(), lr=1.0),
                steps=20, expect=["lr-too-high"])


@case
def mnist_sigmoid_ten_outputs_bce_against_digit_labels():
    # BUG: 10 sigmoid outputs trained with BCELoss against integer digit labels (shape (N,), values 0..9).
    _seed()
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10), nn.Sigmoid())
    y = _balanced(20, 10).float()
    return dict(model=m, inputs=torch.randn(20, 1, 28, 28), target=y, loss=nn.BCELoss(),
                expect=["loss-mismatch", "wrong-target"])


@case
def iris_mlp_one_hot_targets_into_nll_loss():
    # BUG: NLLLoss wants class indices, but the Iris targets were one-hot encoded (N, 3).
    _seed()
    m = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3), nn.LogSoftmax(dim=1))
    y = F.one_hot(_balanced(30, 3), 3)
    return dict(model=m, inputs=torch.randn(30, 4), target=y, loss=nn.NLLLoss(),
                expect=["wrong-target", "loss-mismatch"])


@case
def normalize_half_half_on_raw_byte_pixels():
    # BUG: ToTensor() skipped, so Normalize((0.5,), (0.5,)) is applied to 0..255 bytes: inputs in 0..510.
    _seed()
    m = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(32, 10))
    raw = torch.randint(0, 256, (20, 1, 28, 28)).float()
    x = (raw - 0.5) / 0.5
    return dict(model=m, inputs=x, target=_balanced(20, 10), loss=nn.CrossEntropyLoss(),
                expect=["unnormalized-input"], where=["input"])


@case
def cifar_cnn_relu_after_output_layer():
    # BUG: a ReLU after the last Linear clamps the class logits at 0 before CrossEntropyLoss.
    _seed()
    m = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(32 * 8 * 8, 64), nn.ReLU(), nn.Linear(64, 10), nn.ReLU())
    return dict(model=m, inputs=torch.randn(30, 3, 32, 32), target=_balanced(30, 10),
                loss=nn.CrossEntropyLoss(), expect=["loss-mismatch", "dead-relu"])


@case
def fashion_labels_numbered_1_to_10():
    # BUG: the labels csv numbers the 10 clothing classes 1..10; label 10 is out of range for 10 logits.
    _seed()
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    y = _balanced(40, 10) + 1
    return dict(model=m, inputs=torch.randn(40, 1, 28, 28), target=y, loss=nn.CrossEntropyLoss(),
                expect=["wrong-target"], where=["target"])


@case
def mnist_mlp_view_784_on_cifar_rgb_batch():
    # BUG: x.view(-1, 28*28) on 3x32x32 CIFAR images: 49 images become 192 rows mixing pixels of
    # different images (and the batch no longer matches the labels).
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(28 * 28, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = x.view(-1, 28 * 28)
            return self.fc2(F.relu(self.fc1(x)))

    return dict(model=Net(), inputs=torch.randn(49, 3, 32, 32), target=_balanced(49, 10),
                loss=nn.CrossEntropyLoss(), expect=["batch-mixing", "shape-mismatch"])


@case
def mnist_net_forward_forgets_return():
    # BUG: forward computes the log-probabilities but never returns them, so the model outputs None.
    _seed()

    class Net(_MnistExampleNet):
        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = self.dropout1(x).flatten(1)
            x = self.dropout2(F.relu(self.fc1(x)))
            output = F.log_softmax(self.fc2(x), dim=1)  # missing: return output

    return dict(model=Net(), inputs=torch.randn(10, 1, 28, 28), target=_balanced(10, 10),
                loss=F.nll_loss, expect=["none-output"], where=[""])


@case
def mnist_mlp_in_features_28_applied_over_image_width():
    # BUG: no flatten; the user set in_features=28 "for the image size", so Linear runs over the
    # width axis of (N, 1, 28, 28) and the output is (N, 1, 28, 10).
    _seed()
    m = nn.Sequential(nn.Linear(28, 128), nn.ReLU(), nn.Linear(128, 10))
    return dict(model=m, inputs=torch.randn(20, 1, 28, 28), target=_balanced(20, 10),
                loss=nn.CrossEntropyLoss(), expect=["shape-mismatch"], where=["0", "input"])


@case
def titanic_mlp_raw_columns_with_passenger_id():
    # BUG: raw Titanic columns (PassengerId 1..891, Fare up to ~500, Age) fed unscaled into the MLP.
    _seed()
    n = 32
    pid = torch.randint(1, 892, (n, 1)).float()
    pclass = torch.randint(1, 4, (n, 1)).float()
    age = torch.rand(n, 1) * 70 + 1
    sibsp = torch.randint(0, 4, (n, 1)).float()
    parch = torch.randint(0, 3, (n, 1)).float()
    fare = torch.rand(n, 1) ** 3 * 500
    x = torch.cat([pid, pclass, age, sibsp, parch, fare], 1)
    m = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 2))
    return dict(model=m, inputs=x, target=_balanced(n, 2), loss=nn.CrossEntropyLoss(),
                expect=["unnormalized-input"], where=["input"])


@case
def diabetes_single_logit_cross_entropy_loss_always_zero():
    # BUG: one output unit with CrossEntropyLoss and float (N, 1) labels: softmax over a single class
    # is always 1, so the loss is 0 and nothing learns.
    _seed()
    m = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1))
    y = _balanced(32, 2).float().unsqueeze(1)
    return dict(model=m, inputs=torch.randn(32, 8), target=y, loss=nn.CrossEntropyLoss(),
                expect=["loss-mismatch", "wrong-target"])


@case
def mnist_example_net_without_log_softmax_nll_loss():
    # BUG: log_softmax removed from the MNIST example's forward, but training still uses F.nll_loss.
    _seed()
    m = _MnistExampleNet(log_softmax=False)
    return dict(model=m, inputs=torch.randn(10, 1, 28, 28), target=_balanced(10, 10),
                loss=F.nll_loss, expect=["loss-mismatch"])


@case
def name_rnn_batched_log_softmax_dim_0():
    # BUG: LogSoftmax(dim=0) copied from a single-name version; on a (batch, languages) output it
    # normalises over the batch of names instead of over the 18 languages.
    _seed()

    class NameRNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(N_LETTERS, 128)
            self.h2o = nn.Linear(128, N_LANGS)
            self.softmax = nn.LogSoftmax(dim=0)

        def forward(self, line_tensor):
            _, hidden = self.rnn(line_tensor)
            return self.softmax(self.h2o(hidden[0]))

    return dict(model=NameRNN(), inputs=_one_hot_names(36, 10), target=_balanced(36, N_LANGS),
                loss=nn.NLLLoss(), expect=["softmax-wrong-dim"], where=["softmax"])


# =============================================================== healthy
@case
def ok_blitz_cifar_net_sgd_momentum_train():
    # The 60-minute blitz CIFAR-10 net, CrossEntropyLoss, training mode, normalised images.
    _seed()
    m = _BlitzNet()
    return dict(model=m, inputs=torch.randn(40, 3, 32, 32), target=_balanced(40, 10),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_blitz_cifar_net_eval_single_image():
    # The blitz net after training: model.eval() and one image with its batch dimension.
    _seed()
    m = _BlitzNet().eval()
    return dict(model=m, inputs=torch.randn(1, 3, 32, 32), expect=[])


@case
def ok_mnist_example_dropout2d_log_softmax_nll():
    # The official MNIST example: Dropout2d, log_softmax output, F.nll_loss, Adadelta(lr=1.0).
    _seed()
    m = _MnistExampleNet()
    return dict(model=m, inputs=torch.randn(10, 1, 28, 28), target=_balanced(10, 10),
                loss=F.nll_loss, optimizer=torch.optim.Adadelta(m.parameters(), lr=1.0), steps=20,
                expect=[])


@case
def ok_text_classification_embedding_bag_offsets():
    # The text classification tutorial: EmbeddingBag over concatenated token ids with offsets.
    _seed()

    class TextClassificationModel(nn.Module):
        def __init__(self, vocab_size, embed_dim, num_class):
            super().__init__()
            self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
            self.fc = nn.Linear(embed_dim, num_class)
            initrange = 0.5
            self.embedding.weight.data.uniform_(-initrange, initrange)
            self.fc.weight.data.uniform_(-initrange, initrange)
            self.fc.bias.data.zero_()

        def forward(self, text, offsets):
            return self.fc(self.embedding(text, offsets))

    lengths = torch.randint(5, 30, (16,))
    text = torch.randint(1, 2000, (int(lengths.sum()),))
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])
    m = TextClassificationModel(2000, 64, 4)
    return dict(model=m, inputs=(text, offsets), target=_balanced(16, 4), loss=nn.CrossEntropyLoss(),
                expect=[])


@case
def ok_char_rnn_name_classifier_nll():
    # The names tutorial: nn.RNN over one-hot letters (~10 steps), log_softmax over languages, NLLLoss.
    _seed()

    class CharRNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super().__init__()
            self.rnn = nn.RNN(input_size, hidden_size)
            self.h2o = nn.Linear(hidden_size, output_size)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, line_tensor):
            rnn_out, hidden = self.rnn(line_tensor)
            return self.softmax(self.h2o(hidden[0]))

    return dict(model=CharRNN(N_LETTERS, 128, N_LANGS), inputs=_one_hot_names(36, 10),
                target=_balanced(36, N_LANGS), loss=nn.NLLLoss(), expect=[])


@case
def ok_tabular_mlp_batchnorm_adam_steps():
    # Standardised tabular features, Linear-BatchNorm-ReLU blocks, 3 balanced classes, Adam 1e-3.
    _seed()
    m = nn.Sequential(
        nn.Linear(12, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.1),
        nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(),
        nn.Linear(32, 3))
    return dict(model=m, inputs=torch.randn(48, 12), target=_balanced(48, 3), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_fashion_mnist_flatten_mlp_sgd_steps():
    # The quickstart Fashion-MNIST MLP: nn.Flatten, two ReLU layers, CrossEntropyLoss, SGD.
    _seed()

    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(
                nn.Linear(28 * 28, 128), nn.ReLU(),
                nn.Linear(128, 128), nn.ReLU(),
                nn.Linear(128, 10))

        def forward(self, x):
            return self.linear_relu_stack(self.flatten(x))

    m = NeuralNetwork()
    return dict(model=m, inputs=torch.randn(40, 1, 28, 28), target=_balanced(40, 10),
                loss=nn.CrossEntropyLoss(), optimizer=torch.optim.SGD(m.parameters(), lr=0.1), steps=20,
                expect=[])


@case
def ok_lenet5_tanh_avgpool_padded_mnist():
    # Classic LeNet-5 on 28x28 digits: conv1 padding=2 so fc1's 16*5*5 is right; tanh + avg pooling.
    _seed()

    class LeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(1, 6, 5, padding=2)
            self.s2 = nn.AvgPool2d(2)
            self.c3 = nn.Conv2d(6, 16, 5)
            self.s4 = nn.AvgPool2d(2)
            self.f5 = nn.Linear(16 * 5 * 5, 120)
            self.f6 = nn.Linear(120, 84)
            self.out = nn.Linear(84, 10)

        def forward(self, x):
            x = self.s2(torch.tanh(self.c1(x)))
            x = self.s4(torch.tanh(self.c3(x)))
            x = torch.tanh(self.f5(x.flatten(1)))
            x = torch.tanh(self.f6(x))
            return self.out(x)

    return dict(model=LeNet5(), inputs=torch.randn(30, 1, 28, 28), target=_balanced(30, 10),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_cifar_bn_cnn_per_channel_normalised_train():
    # CIFAR images normalised with per-channel mean/std; Conv-BN-ReLU blocks, global pooling, dropout.
    _seed()
    mean = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
    std = torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1)
    raw = (torch.rand(32, 3, 1, 1) * 0.4 + 0.3 + 0.25 * torch.randn(32, 3, 32, 32)).clamp(0, 1)
    x = (raw - mean) / std

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            def block(i, o):
                return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU())
            self.features = nn.Sequential(block(3, 32), nn.MaxPool2d(2), block(32, 64), nn.MaxPool2d(2),
                                          block(64, 64))
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(64, 10))

        def forward(self, x):
            return self.head(self.features(x))

    return dict(model=Net(), inputs=x, target=_balanced(32, 10), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_imdb_lstm_single_logit_bce_with_logits():
    # Sentiment tutorial: Embedding(padding_idx=0) + LSTM, last hidden state, one logit, BCEWithLogitsLoss.
    _seed()

    class SentimentLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(3000, 64, padding_idx=0)
            self.lstm = nn.LSTM(64, 64, batch_first=True)
            self.fc = nn.Linear(64, 1)

        def forward(self, tokens):
            _, (h, _) = self.lstm(self.embedding(tokens))
            return self.fc(h[-1])

    tokens = torch.randint(1, 3000, (24, 40))
    for i in range(24):
        tokens[i, :(i % 6) * 3] = 0  # some left (pre-)padding
    y = _balanced(24, 2).float().unsqueeze(1)
    return dict(model=SentimentLSTM(), inputs=tokens, target=y, loss=nn.BCEWithLogitsLoss(), expect=[])


@case
def ok_housing_regression_standardised_target_sgd_momentum():
    # California-housing style regression: standardised features and target, MSE, SGD momentum.
    _seed()
    x = torch.randn(64, 8)
    w = torch.randn(8, 1) / math.sqrt(8)
    y = x @ w + 0.3 * torch.sin(x[:, :1] * 2) + 0.1 * torch.randn(64, 1)
    y = (y - y.mean()) / y.std()
    m = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9), steps=20, expect=[])


@case
def ok_char_gru_name_generator_reshaped_ce():
    # Char-level name generator: Embedding + GRU, logits (N, T, V) flattened for CrossEntropyLoss.
    _seed()
    V = 60

    class CharGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(V, 32)
            self.gru = nn.GRU(32, 96, batch_first=True)
            self.out = nn.Linear(96, V)

        def forward(self, ids):
            h, _ = self.gru(self.emb(ids))
            return self.out(h)

    seq = torch.randint(0, V, (16, 13))
    inp, tgt = seq[:, :-1], seq[:, 1:]

    def lm_loss(logits, target):
        return F.cross_entropy(logits.reshape(-1, V), target.reshape(-1))

    return dict(model=CharGRU(), inputs=inp, target=tgt, loss=lm_loss, expect=[])
