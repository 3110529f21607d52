"""Blind batch (eighth session): written by a helper that never read the rules; kept as written."""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=6464): torch.manual_seed(s)


# ------------------------------------------------------------------ helpers (data only)
def _blob_labels(x, num_classes, k=7):
    # smooth the image and cut it at quantiles: spatially coherent, balanced class-index maps (B, H, W)
    s = F.avg_pool2d(x.mean(1, keepdim=True), k, 1, k // 2, count_include_pad=False)[:, 0]
    qs = torch.quantile(s.flatten(), torch.linspace(0, 1, num_classes + 1)[1:-1])
    return torch.bucketize(s, qs).long()


def _ellipse_masks(b, h, w, empty=()):
    # binary object masks (B, 1, H, W) float, one random ellipse per image; `empty` images have none
    yy, xx = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
    out = torch.zeros(b, 1, h, w)
    for i in range(b):
        if i in empty:
            continue
        cy, cx = torch.rand(2) * torch.tensor([h * 0.5, w * 0.5]) + torch.tensor([h * 0.25, w * 0.25])
        ry, rx = torch.rand(2) * torch.tensor([h * 0.2, w * 0.2]) + torch.tensor([h * 0.15, w * 0.15])
        out[i, 0] = ((((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) <= 1).float()
    return out


def _gaussian_heatmaps(b, k, h, w, sigma=2.0):
    # one keypoint per channel, Gaussian bump with peak exactly 1 at an integer location
    yy, xx = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
    cy = torch.randint(3, h - 3, (b, k)).float()
    cx = torch.randint(3, w - 3, (b, k)).float()
    d2 = (yy - cy[..., None, None]) ** 2 + (xx - cx[..., None, None]) ** 2
    return torch.exp(-d2 / (2 * sigma ** 2))


def _calibrate_bn(m, x, passes=3):
    # stand-in for a trained checkpoint: fill BatchNorm running stats from data, then switch to eval
    bns = [b for b in m.modules() if isinstance(b, nn.modules.batchnorm._BatchNorm)]
    for b in bns:
        b.reset_running_stats()
        b.momentum = None
    m.train()
    with torch.no_grad():
        for _ in range(passes):
            m(x + 0.1 * torch.randn_like(x))
    for b in bns:
        b.momentum = 0.1
    return m.eval()


def _cbr(cin, cout, k=3, s=1, d=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, padding=d * (k // 2), dilation=d, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


# ================================================================== buggy cases
@case
def seg_cross_entropy_one_hot_long_target_bchw():
    # Bug: per-pixel CE target passed as one-hot (B, C, H, W) int64 instead of (B, H, W) class indices.
    _seed()
    m = nn.Sequential(_cbr(3, 16), _cbr(16, 16), nn.Conv2d(16, 4, 1))
    x = torch.randn(6, 3, 32, 32)
    labels = _blob_labels(x, 4)
    target = F.one_hot(labels, 4).permute(0, 3, 1, 2)  # long, (6, 4, 32, 32)
    return dict(model=m, inputs=x, target=target, loss=nn.CrossEntropyLoss(),
                expect=["wrong-target", "shape-mismatch"], where=["target", "loss"])


@case
def seg_label_ids_run_to_num_classes_background_extra():
    # Bug: 5 foreground classes + background stored as ids 0..5, but the head has num_classes=5 outputs.
    _seed()

    class SegNet(nn.Module):
        def __init__(self, num_classes=5):
            super().__init__()
            self.enc = nn.Sequential(_cbr(3, 24, s=2), _cbr(24, 32))
            self.cls = nn.Conv2d(32, num_classes, 1)

        def forward(self, x):
            y = self.cls(self.enc(x))
            return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)

    x = torch.randn(4, 3, 48, 48)
    target = _blob_labels(x, 6)  # values 0..5, class 5 is out of range for 5 logits
    return dict(model=SegNet(), inputs=x, target=target, loss=nn.CrossEntropyLoss(),
                expect=["wrong-target"], where=["target", "loss"])


@case
def voc_void_boundary_255_without_ignore_index():
    # Bug: Pascal-VOC style masks with 255 on object boundaries, but CrossEntropyLoss has no ignore_index=255.
    _seed()

    class TinyFCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(_cbr(3, 32, s=2), _cbr(32, 32), _cbr(32, 48, s=2))
            self.classifier = nn.Conv2d(48, 3, 1)

        def forward(self, x):
            return F.interpolate(self.classifier(self.body(x)), size=x.shape[-2:], mode="bilinear",
                                 align_corners=False)

    x = torch.randn(4, 3, 40, 40)
    y = _blob_labels(x, 3)
    edge = (F.max_pool2d(y[:, None].float(), 3, 1, 1) != -F.max_pool2d(-y[:, None].float(), 3, 1, 1))[:, 0]
    y[edge] = 255
    return dict(model=TinyFCN(), inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                expect=["wrong-target"], where=["target", "loss"])


@case
def mask_head_sigmoid_then_bce_with_logits():
    # Bug: the mask head already ends in nn.Sigmoid, and BCEWithLogitsLoss applies a second sigmoid.
    _seed()
    m = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(32, 16, 2, stride=2), nn.ReLU(),
        nn.Conv2d(16, 1, 1), nn.Sigmoid())
    x = torch.randn(8, 3, 32, 32)
    target = _ellipse_masks(8, 32, 32)
    return dict(model=m, inputs=x, target=target, loss=nn.BCEWithLogitsLoss(),
                expect=["loss-mismatch", "double-softmax"])


@case
def dice_probs_softmax_over_pixels_not_classes():
    # Bug: softmax normalises over the H*W pixels of each class map instead of over the class channel.
    _seed()

    class SegHead(nn.Module):
        def __init__(self, c=4):
            super().__init__()
            self.features = nn.Sequential(_cbr(3, 24), _cbr(24, 24))
            self.logits = nn.Conv2d(24, c, 1)

        def forward(self, x):
            z = self.logits(self.features(x))
            b, c, h, w = z.shape
            return torch.softmax(z.view(b, c, h * w), dim=-1).view(b, c, h, w)

    def dice_loss(probs, labels):
        t = F.one_hot(labels, probs.shape[1]).permute(0, 3, 1, 2).float()
        inter = (probs * t).sum((0, 2, 3))
        den = probs.sum((0, 2, 3)) + t.sum((0, 2, 3))
        return 1 - ((2 * inter + 1.0) / (den + 1.0)).mean()

    x = torch.randn(4, 3, 32, 32)
    return dict(model=SegHead(), inputs=x, target=_blob_labels(x, 4), loss=dice_loss,
                expect=["softmax-wrong-dim"])


@case
def tversky_recall_loss_no_smooth_empty_masks():
    # Bug: Dice-family (Tversky alpha=0, beta=1) loss without a smoothing eps: TP+FN = |target| = 0 on
    # crops with no foreground, so 0/0 = NaN.
    _seed()
    m = nn.Sequential(_cbr(1, 16), _cbr(16, 16), nn.Conv2d(16, 1, 1))

    def tversky_loss(logits, t, alpha=0.0, beta=1.0):
        p = torch.sigmoid(logits)
        tp = (p * t).sum((1, 2, 3))
        fp = (p * (1 - t)).sum((1, 2, 3))
        fn = ((1 - p) * t).sum((1, 2, 3))
        return (1 - tp / (tp + alpha * fp + beta * fn)).mean()

    x = torch.randn(8, 1, 32, 32)
    target = _ellipse_masks(8, 32, 32, empty=(1, 5))  # two background-only crops in the batch
    return dict(model=m, inputs=x, target=target, loss=tversky_loss,
                expect=["nonfinite-created"], where=["loss"])


@case
def fcn_stride8_logits_upsampled_by_4():
    # Bug: backbone has output stride 8, but logits are upsampled with scale_factor=4 -> half-size output.
    _seed()

    class FCN8(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(_cbr(3, 16, s=2), _cbr(16, 32, s=2), _cbr(32, 64, s=2), _cbr(64, 64))
            self.head = nn.Conv2d(64, 5, 1)

        def forward(self, x):
            y = self.head(self.backbone(x))
            return F.interpolate(y, scale_factor=4, mode="bilinear", align_corners=False)

    x = torch.randn(4, 3, 64, 64)
    return dict(model=FCN8(), inputs=x, target=_blob_labels(x, 5), loss=nn.CrossEntropyLoss(),
                expect=["shape-mismatch"])


@case
def segmentation_batch_loaded_as_nhwc():
    # Bug: images straight from a PIL/numpy pipeline as (B, H, W, C) go into a Conv2d(3, ...).
    _seed()

    class Seg(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
            self.body = _cbr(16, 16)
            self.cls = nn.Conv2d(16, 3, 1)

        def forward(self, x):
            return self.cls(self.body(self.stem(x)))

    x = torch.randn(4, 48, 48, 3)
    target = torch.randint(0, 3, (4, 48, 48))
    return dict(model=Seg(), inputs=x, target=target, loss=nn.CrossEntropyLoss(),
                expect=["shape-mismatch"], where=["input", "stem.0", "stem"])


@case
def keypoint_heatmap_relu_head_bias_minus_five():
    # Bug: final heatmap conv bias initialised at -5 and followed by ReLU: every output pixel is 0.
    _seed()

    class PoseNet(nn.Module):
        def __init__(self, k=6):
            super().__init__()
            self.backbone = nn.Sequential(_cbr(3, 32, s=2), _cbr(32, 32), _cbr(32, 32, s=2))
            self.deconv = nn.Sequential(nn.ConvTranspose2d(32, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32),
                                        nn.ReLU())
            self.final = nn.Conv2d(32, k, 1)
            self.out_act = nn.ReLU()  # "heatmaps are non-negative"
            nn.init.constant_(self.final.bias, -5.0)

        def forward(self, x):
            return self.out_act(self.final(self.deconv(self.backbone(x))))

    x = torch.randn(8, 3, 64, 64)
    target = _gaussian_heatmaps(8, 6, 32, 32)
    return dict(model=PoseNet(), inputs=x, target=target, loss=nn.MSELoss(),
                expect=["dead-relu", "constant-output", "no-gradient", "vanishing-gradients"],
                where=["final", "out_act"])


@case
def espcn_pixelshuffle_4_for_2x_upscaling():
    # Bug: x2 super-resolution, but the tail predicts 3*4^2 channels and PixelShuffle(4): output is x4.
    _seed()

    class ESPCN(nn.Module):
        def __init__(self, r=4):
            super().__init__()
            self.feat = nn.Sequential(nn.Conv2d(3, 64, 5, padding=2), nn.Tanh(),
                                      nn.Conv2d(64, 32, 3, padding=1), nn.Tanh())
            self.tail = nn.Conv2d(32, 3 * r * r, 3, padding=1)
            self.shuffle = nn.PixelShuffle(r)

        def forward(self, x):
            return self.shuffle(self.tail(self.feat(x)))

    lr_img = torch.randn(6, 3, 24, 24)
    hr_img = F.interpolate(lr_img, scale_factor=2, mode="bicubic", align_corners=False)  # (6, 3, 48, 48)
    return dict(model=ESPCN(), inputs=lr_img, target=hr_img, loss=nn.L1Loss(),
                expect=["shape-mismatch"])


@case
def binary_mask_single_channel_softmax_bce():
    # Bug: a multi-class head switched to 1 output channel but kept Softmax(dim=1): the mask is all ones.
    _seed()
    m = nn.Sequential(_cbr(3, 16), _cbr(16, 32, s=2), nn.Upsample(scale_factor=2, mode="nearest"),
                      _cbr(32, 16), nn.Conv2d(16, 1, 1), nn.Softmax(dim=1))
    x = torch.randn(8, 3, 32, 32)
    target = _ellipse_masks(8, 32, 32)
    return dict(model=m, inputs=x, target=target, loss=nn.BCELoss(),
                expect=["constant-output", "softmax-wrong-dim", "loss-mismatch", "no-gradient",
                        "saturated-activation"])


@case
def deeplab_image_pool_batchnorm_single_image_train():
    # Bug: fine-tuning DeepLab in train mode on one image per step: the ASPP image-pooling branch
    # BatchNorm sees a single 1x1 value per channel and raises.
    _seed()

    class ASPP(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.b0 = _cbr(cin, cout, k=1)
            self.b1 = _cbr(cin, cout, d=2)
            self.b2 = _cbr(cin, cout, d=4)
            self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1, bias=False),
                                      nn.BatchNorm2d(cout), nn.ReLU())
            self.project = _cbr(4 * cout, cout, k=1)

        def forward(self, x):
            p = F.interpolate(self.pool(x), size=x.shape[-2:], mode="bilinear", align_corners=False)
            return self.project(torch.cat([self.b0(x), self.b1(x), self.b2(x), p], 1))

    class DeepLab(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(_cbr(3, 32, s=2), _cbr(32, 48, s=2), _cbr(48, 48))
            self.aspp = ASPP(48, 32)
            self.classifier = nn.Conv2d(32, 4, 1)

        def forward(self, x):
            y = self.classifier(self.aspp(self.backbone(x)))
            return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)

    m = DeepLab().train()
    x = torch.randn(1, 3, 64, 64)
    return dict(model=m, inputs=x, target=_blob_labels(x, 4), loss=nn.CrossEntropyLoss(),
                expect=["train-eval-mode"], where=["aspp.pool"])


@case
def detection_neck_detaches_backbone_features():
    # Bug: `.detach()` on the backbone output (meant to stop gradients into a frozen copy) cuts the
    # whole backbone out of training.
    _seed()

    class Detector(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(_cbr(3, 32, s=2), _cbr(32, 64, s=2), _cbr(64, 64, s=2))
            self.neck = _cbr(64, 64)
            self.head = nn.Conv2d(64, 1 + 4, 1)

        def forward(self, x):
            f = self.backbone(x).detach()
            return self.head(self.neck(f))

    def det_loss(out, t):
        obj = F.binary_cross_entropy_with_logits(out[:, :1], t[:, :1])
        pos = t[:, :1]
        box = (F.l1_loss(out[:, 1:].sigmoid(), t[:, 1:], reduction="none") * pos).sum() / pos.sum().clamp(min=1)
        return obj + box

    x = torch.randn(8, 3, 64, 64)
    t = torch.zeros(8, 5, 8, 8)
    t[:, 0] = (torch.rand(8, 8, 8) < 0.2).float()
    t[:, 1:] = torch.rand(8, 4, 8, 8)
    return dict(model=Detector(), inputs=x, target=t, loss=det_loss,
                expect=["no-gradient"], where=["backbone"])


@case
def nonlocal_block_flattens_batch_into_positions():
    # Bug: the non-local (self-attention) block reshapes to (C, B*H*W), so every pixel attends to the
    # pixels of the other images in the batch.
    _seed()

    class NonLocal(nn.Module):
        def __init__(self, c, ci=16):
            super().__init__()
            self.q = nn.Conv2d(c, ci, 1)
            self.k = nn.Conv2d(c, ci, 1)
            self.v = nn.Conv2d(c, ci, 1)
            self.out = nn.Conv2d(ci, c, 1)

        def forward(self, x):
            b, c, h, w = x.shape
            q = self.q(x).transpose(0, 1).reshape(-1, b * h * w)  # (ci, B*H*W)
            k = self.k(x).transpose(0, 1).reshape(-1, b * h * w)
            v = self.v(x).transpose(0, 1).reshape(-1, b * h * w)
            attn = torch.softmax(q.t() @ k / math.sqrt(q.shape[0]), dim=-1)  # (BHW, BHW)
            y = (v @ attn.t()).reshape(-1, b, h, w).transpose(0, 1)
            return x + self.out(y)

    class Seg(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(_cbr(3, 32, s=2), _cbr(32, 32, s=2))
            self.nonlocal_block = NonLocal(32)
            self.cls = nn.Conv2d(32, 4, 1)

        def forward(self, x):
            y = self.cls(self.nonlocal_block(self.enc(x)))
            return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)

    m = Seg().eval()
    x = torch.randn(4, 3, 32, 32)
    return dict(model=m, inputs=x, target=_blob_labels(x, 4), loss=nn.CrossEntropyLoss(),
                expect=["batch-mixing"])


@case
def panoptic_heads_kept_in_plain_dict():
    # Bug: the task heads live in a plain Python dict, so they are not registered and never optimised.
    _seed()

    class Panoptic(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = nn.Sequential(_cbr(3, 32), _cbr(32, 32))
            self.heads = {"semantic": nn.Conv2d(32, 5, 1), "center": nn.Conv2d(32, 1, 1)}

        def forward(self, x):
            f = self.trunk(x)
            return {name: head(f) for name, head in self.heads.items()}

    def panoptic_loss(out, t):
        return F.cross_entropy(out["semantic"], t["semantic"]) + 10 * F.mse_loss(out["center"], t["center"])

    m = Panoptic()
    x = torch.randn(4, 3, 32, 32)
    t = {"semantic": _blob_labels(x, 5), "center": _gaussian_heatmaps(4, 1, 32, 32, sigma=3.0)}
    return dict(model=m, inputs=x, target=t, loss=panoptic_loss,
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=10,
                expect=["untrained-parameter"])


@case
def unet_segmentation_sgd_lr_20():
    # Bug: SGD with lr=20 (a typo for 0.02): the per-pixel CE blows up within a few steps.
    _seed()

    class UNetLite(nn.Module):
        def __init__(self):
            super().__init__()
            self.e1 = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU())
            self.e2 = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())
            self.up = nn.ConvTranspose2d(32, 16, 2, stride=2)
            self.d1 = nn.Sequential(nn.Conv2d(32, 16, 3, padding=1), nn.ReLU())
            self.cls = nn.Conv2d(16, 3, 1)

        def forward(self, x):
            s = self.e1(x)
            b = self.e2(F.max_pool2d(s, 2))
            return self.cls(self.d1(torch.cat([self.up(b), s], 1)))

    m = UNetLite()
    x = torch.randn(8, 3, 32, 32)
    return dict(model=m, inputs=x, target=_blob_labels(x, 3), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=20.0, momentum=0.9), steps=15,
                expect=["lr-too-high"])


@case
def monocular_depth_raw_uint8_rgb_as_float():
    # Bug: RGB frames cast to float but never scaled/standardised (0..255) before a BN-free depth net.
    _seed()

    class DepthNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1), nn.ELU(), nn.Conv2d(32, 64, 3, 2, 1), nn.ELU())
            self.dec = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                     nn.Conv2d(64, 32, 3, padding=1), nn.ELU(),
                                     nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                     nn.Conv2d(32, 1, 3, padding=1), nn.Softplus())

        def forward(self, x):
            return self.dec(self.enc(x))

    x = torch.randint(0, 256, (4, 3, 48, 48)).float()
    depth = 1.0 + 9.0 * torch.sigmoid(F.avg_pool2d(torch.randn(4, 1, 48, 48), 9, 1, 4) * 4)
    return dict(model=DepthNet(), inputs=x, target=depth, loss=nn.L1Loss(),
                expect=["unnormalized-input"], where=["input"])


# ================================================================== healthy cases
@case
def ok_unet_pixel_ce_void_boundaries_ignore_index_adam():
    _seed()

    class UNet(nn.Module):
        def __init__(self, n_cls=4):
            super().__init__()
            self.enc1 = nn.Sequential(_cbr(3, 16), _cbr(16, 16))
            self.enc2 = nn.Sequential(_cbr(16, 32), _cbr(32, 32))
            self.up = nn.ConvTranspose2d(32, 16, 2, stride=2)
            self.dec1 = nn.Sequential(_cbr(32, 16), _cbr(16, 16))
            self.head = nn.Conv2d(16, n_cls, 1)

        def forward(self, x):
            s1 = self.enc1(x)
            b = self.enc2(F.max_pool2d(s1, 2))
            return self.head(self.dec1(torch.cat([self.up(b), s1], 1)))

    m = UNet()
    x = torch.randn(6, 3, 32, 32)
    y = _blob_labels(x, 4)
    edge = (F.max_pool2d(y[:, None].float(), 3, 1, 1) != -F.max_pool2d(-y[:, None].float(), 3, 1, 1))[:, 0]
    y[edge] = 255  # void pixels on class boundaries, ignored below
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(ignore_index=255),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_fcn_bilinear_upsample_to_input_size_eval():
    _seed()

    class FCN(nn.Module):
        def __init__(self, n_cls=6):
            super().__init__()
            self.backbone = nn.Sequential(_cbr(3, 32, s=2), _cbr(32, 64, s=2), _cbr(64, 96, s=2), _cbr(96, 96))
            self.classifier = nn.Sequential(_cbr(96, 64), nn.Dropout(0.1), nn.Conv2d(64, n_cls, 1))

        def forward(self, x):
            y = self.classifier(self.backbone(x))
            return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)

    x = torch.randn(4, 3, 64, 64)
    m = _calibrate_bn(FCN(), x)
    return dict(model=m, inputs=x, target=_blob_labels(x, 6), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_deeplab_aspp_dilated_convs_batchnorm_train():
    _seed()

    class ASPP(nn.Module):
        def __init__(self, cin, cout, rates=(2, 4, 6)):
            super().__init__()
            self.branches = nn.ModuleList([_cbr(cin, cout, k=1)] + [_cbr(cin, cout, d=r) for r in rates])
            self.image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1, bias=False),
                                            nn.BatchNorm2d(cout), nn.ReLU())
            self.project = nn.Sequential(_cbr(cout * (len(rates) + 2), cout, k=1), nn.Dropout(0.1))

        def forward(self, x):
            outs = [b(x) for b in self.branches]
            outs.append(F.interpolate(self.image_pool(x), size=x.shape[-2:], mode="bilinear",
                                      align_corners=False))
            return self.project(torch.cat(outs, 1))

    class DeepLabV3(nn.Module):
        def __init__(self, n_cls=5):
            super().__init__()
            self.backbone = nn.Sequential(_cbr(3, 32, s=2), _cbr(32, 64, s=2), _cbr(64, 64, d=2))
            self.aspp = ASPP(64, 48)
            self.head = nn.Sequential(_cbr(48, 48), nn.Conv2d(48, n_cls, 1))

        def forward(self, x):
            y = self.head(self.aspp(self.backbone(x)))
            return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)

    m = DeepLabV3().train()
    x = torch.randn(8, 3, 64, 64)
    return dict(model=m, inputs=x, target=_blob_labels(x, 5), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_centernet_heatmap_focal_loss_bias_prior():
    _seed()

    class CenterNet(nn.Module):
        def __init__(self, n_cls=3):
            super().__init__()
            self.backbone = nn.Sequential(_cbr(3, 32, s=2), _cbr(32, 64, s=2), _cbr(64, 64))
            self.hm = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, n_cls, 1))
            self.wh = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 2, 1))
            nn.init.constant_(self.hm[-1].bias, -2.19)  # prior p=0.1, as in the CenterNet paper

        def forward(self, x):
            f = self.backbone(x)
            return self.hm(f), self.wh(f)

    def centernet_loss(out, t):
        hm_logits, wh = out
        gt, wh_gt = t
        p = torch.sigmoid(hm_logits).clamp(1e-4, 1 - 1e-4)
        pos = gt.eq(1).float()
        neg_w = (1 - gt).pow(4)
        pos_loss = (torch.log(p) * (1 - p).pow(2) * pos).sum()
        neg_loss = (torch.log(1 - p) * p.pow(2) * neg_w * (1 - pos)).sum()
        n = pos.sum().clamp(min=1)
        focal = -(pos_loss + neg_loss) / n
        center = pos.amax(1, keepdim=True)
        size = (F.l1_loss(wh, wh_gt, reduction="none") * center).sum() / center.sum().clamp(min=1)
        return focal + 0.1 * size

    x = torch.randn(8, 3, 64, 64)
    hm = _gaussian_heatmaps(8, 3, 16, 16, sigma=1.5)
    wh = torch.rand(8, 2, 16, 16) * 8 + 2
    return dict(model=CenterNet(), inputs=x, target=(hm, wh), loss=centernet_loss, expect=[])


@case
def ok_simple_baseline_pose_gaussian_heatmaps_mse_adam():
    _seed()

    class SimpleBaseline(nn.Module):
        def __init__(self, k=8):
            super().__init__()
            self.backbone = nn.Sequential(_cbr(3, 32, s=2), _cbr(32, 64, s=2), _cbr(64, 64, s=2))
            self.deconv = nn.Sequential(
                nn.ConvTranspose2d(64, 48, 4, 2, 1, bias=False), nn.BatchNorm2d(48), nn.ReLU(),
                nn.ConvTranspose2d(48, 48, 4, 2, 1, bias=False), nn.BatchNorm2d(48), nn.ReLU())
            self.final = nn.Conv2d(48, k, 1)

        def forward(self, x):
            return self.final(self.deconv(self.backbone(x)))

    m = SimpleBaseline()
    x = torch.randn(8, 3, 64, 64)
    target = _gaussian_heatmaps(8, 8, 32, 32, sigma=2.0)
    return dict(model=m, inputs=x, target=target, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=15, expect=[])


@case
def ok_depth_log_head_scale_invariant_loss():
    _seed()

    class DepthNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc1 = _cbr(3, 32, s=2)
            self.enc2 = _cbr(32, 64, s=2)
            self.dec2 = _cbr(64 + 32, 32)
            self.dec1 = _cbr(32 + 3, 16)
            self.log_depth = nn.Conv2d(16, 1, 3, padding=1)
            nn.init.constant_(self.log_depth.bias, math.log(4.0))  # start near the typical scene depth

        def forward(self, x):
            e1 = self.enc1(x)
            e2 = self.enc2(e1)
            d2 = self.dec2(torch.cat([F.interpolate(e2, size=e1.shape[-2:], mode="bilinear",
                                                    align_corners=False), e1], 1))
            d1 = self.dec1(torch.cat([F.interpolate(d2, size=x.shape[-2:], mode="bilinear",
                                                    align_corners=False), x], 1))
            return self.log_depth(d1)  # predicts log-depth

    def si_log_loss(log_pred, depth, lam=0.85):
        d = log_pred - torch.log(depth)
        return (d.pow(2).mean() - lam * d.mean().pow(2)).sqrt()

    x = torch.randn(6, 3, 48, 48)
    depth = 0.5 + 9.5 * torch.sigmoid(F.avg_pool2d(x.mean(1, keepdim=True), 9, 1, 4) * 3)  # metres
    return dict(model=DepthNet(), inputs=x, target=depth, loss=si_log_loss, expect=[])


@case
def ok_espcn_tanh_pixelshuffle_x3_l1_adam():
    _seed()

    class ESPCN(nn.Module):
        def __init__(self, r=3):
            super().__init__()
            self.feat = nn.Sequential(nn.Conv2d(3, 64, 5, padding=2), nn.Tanh(),
                                      nn.Conv2d(64, 32, 3, padding=1), nn.Tanh())
            self.sub_pixel = nn.Conv2d(32, 3 * r * r, 3, padding=1)
            self.shuffle = nn.PixelShuffle(r)

        def forward(self, x):
            return self.shuffle(self.sub_pixel(self.feat(x)))

    m = ESPCN()
    hr = F.avg_pool2d(torch.randn(8, 3, 60, 60), 3, 1, 1) * 2.0  # smooth-ish, roughly unit scale
    lr_img = F.interpolate(hr, scale_factor=1 / 3, mode="bicubic", align_corners=False)
    return dict(model=m, inputs=lr_img, target=hr, loss=nn.L1Loss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_maskrcnn_roi_mask_head_bce_plus_dice():
    _seed()

    class MaskHead(nn.Module):
        def __init__(self, cin=32):
            super().__init__()
            self.convs = nn.Sequential(*[m for _ in range(4) for m in (nn.Conv2d(cin, cin, 3, padding=1), nn.ReLU())])
            self.deconv = nn.ConvTranspose2d(cin, cin, 2, stride=2)
            self.relu = nn.ReLU()
            self.mask_logits = nn.Conv2d(cin, 1, 1)
            for mod in list(self.convs) + [self.deconv]:  # He init for the ReLU tower
                if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
                    nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
                    nn.init.zeros_(mod.bias)

        def forward(self, roi_feats):
            return self.mask_logits(self.relu(self.deconv(self.convs(roi_feats))))

    def bce_dice(logits, t, eps=1.0):
        bce = F.binary_cross_entropy_with_logits(logits, t)
        p = torch.sigmoid(logits)
        inter = (p * t).sum((1, 2, 3))
        dice = (2 * inter + eps) / (p.sum((1, 2, 3)) + t.sum((1, 2, 3)) + eps)
        return bce + (1 - dice).mean()

    roi_feats = torch.randn(16, 32, 14, 14)
    masks = _ellipse_masks(16, 28, 28)
    return dict(model=MaskHead(), inputs=roi_feats, target=masks, loss=bce_dice, expect=[])


@case
def ok_yolo_grid_head_leaky_objectness_bce_box_l1():
    _seed()

    def cbl(cin, cout, s=1):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, s, 1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.1))

    class TinyYOLO(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(cbl(3, 16, 2), cbl(16, 32, 2), cbl(32, 64, 2), cbl(64, 64))
            self.pred = nn.Conv2d(64, 5, 1)  # objectness logit + (x, y, w, h)

        def forward(self, x):
            return self.pred(self.backbone(x))

    def yolo_loss(out, t):
        obj_t = t[:, :1]
        obj = F.binary_cross_entropy_with_logits(out[:, :1], obj_t)
        box = (F.l1_loss(out[:, 1:].sigmoid(), t[:, 1:], reduction="none") * obj_t).sum() / obj_t.sum().clamp(min=1)
        return obj + 5.0 * box

    x = torch.randn(8, 3, 64, 64)
    t = torch.zeros(8, 5, 8, 8)
    t[:, 0] = (torch.rand(8, 8, 8) < 0.25).float()
    t[:, 1:] = torch.rand(8, 4, 8, 8)
    return dict(model=TinyYOLO().train(), inputs=x, target=t, loss=yolo_loss, expect=[])


@case
def ok_panoptic_deeplab_semantic_center_offset_moduledict():
    _seed()

    class PanopticDeepLab(nn.Module):
        def __init__(self, n_cls=5):
            super().__init__()
            self.backbone = nn.Sequential(_cbr(3, 32, s=2), _cbr(32, 64, s=2), _cbr(64, 64, d=2))
            self.decoder = _cbr(64 + 32, 48)
            self.stem_skip = _cbr(3, 32, s=2)
            self.heads = nn.ModuleDict({
                "semantic": nn.Sequential(_cbr(48, 32), nn.Conv2d(32, n_cls, 1)),
                "center": nn.Sequential(_cbr(48, 32), nn.Conv2d(32, 1, 1)),
                "offset": nn.Sequential(_cbr(48, 32), nn.Conv2d(32, 2, 1)),
            })

        def forward(self, x):
            deep = self.backbone(x)
            skip = self.stem_skip(x)
            f = self.decoder(torch.cat([F.interpolate(deep, size=skip.shape[-2:], mode="bilinear",
                                                      align_corners=False), skip], 1))
            return {k: F.interpolate(h(f), size=x.shape[-2:], mode="bilinear", align_corners=False)
                    for k, h in self.heads.items()}

    def panoptic_loss(out, t):
        sem = F.cross_entropy(out["semantic"], t["semantic"])
        ctr = F.mse_loss(out["center"], t["center"])
        off = F.l1_loss(out["offset"], t["offset"])
        return sem + 20.0 * ctr + 0.1 * off

    x = torch.randn(4, 3, 48, 48)
    t = {"semantic": _blob_labels(x, 5), "center": _gaussian_heatmaps(4, 1, 48, 48, sigma=4.0),
         "offset": torch.randn(4, 2, 48, 48) * 3}
    return dict(model=PanopticDeepLab(), inputs=x, target=t, loss=panoptic_loss, expect=[])


@case
def ok_fpn_groupnorm_semantic_head_train():
    _seed()

    def cgr(cin, cout, s=1):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, s, 1, bias=False), nn.GroupNorm(8, cout), nn.ReLU())

    class SemanticFPN(nn.Module):
        def __init__(self, n_cls=4, d=32):
            super().__init__()
            self.c2 = cgr(3, 32, 2)
            self.c3 = cgr(32, 64, 2)
            self.c4 = cgr(64, 96, 2)
            self.lateral = nn.ModuleList([nn.Conv2d(c, d, 1) for c in (32, 64, 96)])
            self.smooth = nn.ModuleList([nn.Conv2d(d, d, 3, padding=1) for _ in range(3)])
            self.scale_heads = nn.ModuleList([cgr(d, d) for _ in range(3)])
            self.cls = nn.Conv2d(d, n_cls, 1)

        def forward(self, x):
            c2 = self.c2(x)
            c3 = self.c3(c2)
            c4 = self.c4(c3)
            p4 = self.lateral[2](c4)
            p3 = self.lateral[1](c3) + F.interpolate(p4, size=c3.shape[-2:], mode="nearest")
            p2 = self.lateral[0](c2) + F.interpolate(p3, size=c2.shape[-2:], mode="nearest")
            ps = [self.smooth[i](p) for i, p in enumerate((p2, p3, p4))]
            fused = sum(F.interpolate(self.scale_heads[i](p), size=c2.shape[-2:], mode="bilinear",
                                      align_corners=False) for i, p in enumerate(ps))
            return F.interpolate(self.cls(fused), size=x.shape[-2:], mode="bilinear", align_corners=False)

    x = torch.randn(4, 3, 64, 64)
    return dict(model=SemanticFPN().train(), inputs=x, target=_blob_labels(x, 4), loss=nn.CrossEntropyLoss(),
                expect=[])


@case
def ok_unet3d_instancenorm_volumetric_ce():
    _seed()

    def cin3(cin, cout):
        return nn.Sequential(nn.Conv3d(cin, cout, 3, padding=1, bias=False), nn.InstanceNorm3d(cout, affine=True),
                             nn.LeakyReLU(0.01))

    class UNet3D(nn.Module):
        def __init__(self, n_cls=3):
            super().__init__()
            self.enc1 = cin3(1, 8)
            self.enc2 = cin3(8, 16)
            self.up = nn.ConvTranspose3d(16, 8, 2, stride=2)
            self.dec1 = cin3(16, 8)
            self.out = nn.Conv3d(8, n_cls, 1)

        def forward(self, x):
            s = self.enc1(x)
            b = self.enc2(F.max_pool3d(s, 2))
            return self.out(self.dec1(torch.cat([self.up(b), s], 1)))

    x = torch.randn(4, 1, 16, 16, 16)
    s = F.avg_pool3d(x, 5, 1, 2, count_include_pad=False)[:, 0]
    qs = torch.quantile(s.flatten(), torch.tensor([1 / 3, 2 / 3]))
    target = torch.bucketize(s, qs).long()
    return dict(model=UNet3D(), inputs=x, target=target, loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_segformer_lite_efficient_attention_mlp_decoder_eval():
    _seed()

    class EfficientSelfAttention(nn.Module):
        def __init__(self, d, heads=2, sr=2):
            super().__init__()
            self.sr = nn.Conv2d(d, d, sr, stride=sr)
            self.sr_norm = nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, heads, batch_first=True)

        def forward(self, tokens, h, w):
            b, n, d = tokens.shape
            kv = self.sr(tokens.transpose(1, 2).reshape(b, d, h, w)).flatten(2).transpose(1, 2)
            kv = self.sr_norm(kv)
            return self.attn(tokens, kv, kv, need_weights=False)[0]

    class MixFFN(nn.Module):
        def __init__(self, d, hidden):
            super().__init__()
            self.fc1 = nn.Linear(d, hidden)
            self.dw = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(hidden, d)

        def forward(self, tokens, h, w):
            z = self.fc1(tokens)
            b, n, c = z.shape
            z = self.dw(z.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)
            return self.fc2(self.act(z))

    class Stage(nn.Module):
        def __init__(self, cin, d, k, s, sr):
            super().__init__()
            self.patch = nn.Conv2d(cin, d, k, s, k // 2)
            self.patch_norm = nn.LayerNorm(d)
            self.norm1 = nn.LayerNorm(d)
            self.attn = EfficientSelfAttention(d, sr=sr)
            self.norm2 = nn.LayerNorm(d)
            self.ffn = MixFFN(d, 4 * d)
            self.out_norm = nn.LayerNorm(d)

        def forward(self, x):
            x = self.patch(x)
            b, d, h, w = x.shape
            t = self.patch_norm(x.flatten(2).transpose(1, 2))
            t = t + self.attn(self.norm1(t), h, w)
            t = t + self.ffn(self.norm2(t), h, w)
            return self.out_norm(t).transpose(1, 2).reshape(b, d, h, w)

    class SegFormerLite(nn.Module):
        def __init__(self, n_cls=5, e=32):
            super().__init__()
            self.stage1 = Stage(3, 32, 7, 4, sr=4)
            self.stage2 = Stage(32, 64, 3, 2, sr=2)
            self.proj = nn.ModuleList([nn.Conv2d(32, e, 1), nn.Conv2d(64, e, 1)])
            self.fuse = nn.Sequential(nn.Conv2d(2 * e, e, 1, bias=False), nn.BatchNorm2d(e), nn.ReLU())
            self.cls = nn.Conv2d(e, n_cls, 1)

        def forward(self, x):
            f1 = self.stage1(x)
            f2 = self.stage2(f1)
            u = [self.proj[0](f1),
                 F.interpolate(self.proj[1](f2), size=f1.shape[-2:], mode="bilinear", align_corners=False)]
            y = self.cls(self.fuse(torch.cat(u, 1)))
            return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)

    x = torch.randn(4, 3, 64, 64)
    m = _calibrate_bn(SegFormerLite(), x)
    return dict(model=m, inputs=x, target=_blob_labels(x, 5), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_optical_flow_two_frame_dict_inputs_epe():
    _seed()

    class FlowNetLite(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc1 = nn.Sequential(nn.Conv2d(6, 32, 3, 2, 1), nn.LeakyReLU(0.1))
            self.enc2 = nn.Sequential(nn.Conv2d(32, 64, 3, 2, 1), nn.LeakyReLU(0.1))
            self.enc3 = nn.Sequential(nn.Conv2d(64, 64, 3, 1, 1), nn.LeakyReLU(0.1))
            self.up2 = nn.Sequential(nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.LeakyReLU(0.1))
            self.up1 = nn.Sequential(nn.ConvTranspose2d(64, 16, 4, 2, 1), nn.LeakyReLU(0.1))
            self.flow = nn.Conv2d(16, 2, 3, padding=1)
            for mod in self.modules():  # FlowNet-style He init for leaky ReLU
                if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
                    nn.init.kaiming_normal_(mod.weight, a=0.1, nonlinearity="leaky_relu")
                    nn.init.zeros_(mod.bias)

        def forward(self, frame1, frame2):
            e1 = self.enc1(torch.cat([frame1, frame2], 1))
            e3 = self.enc3(self.enc2(e1))
            d2 = self.up2(e3)
            d1 = self.up1(torch.cat([d2, e1], 1))
            return self.flow(d1)

    def epe(pred, gt):
        return (pred - gt).pow(2).sum(1).add(1e-8).sqrt().mean()

    f1 = torch.randn(4, 3, 32, 32)
    f2 = torch.roll(f1, shifts=(1, 2), dims=(2, 3)) + 0.05 * torch.randn(4, 3, 32, 32)
    gt = torch.zeros(4, 2, 32, 32)
    gt[:, 0], gt[:, 1] = 2.0, 1.0
    gt = gt + 0.3 * torch.randn(4, 2, 32, 32)
    return dict(model=FlowNetLite(), inputs={"frame1": f1, "frame2": f2}, target=gt, loss=epe, expect=[])


@case
def ok_mobilenetv3_lraspp_hardswish_se_eval():
    _seed()

    class SE(nn.Module):
        def __init__(self, c, r=4):
            super().__init__()
            self.fc1 = nn.Conv2d(c, c // r, 1)
            self.fc2 = nn.Conv2d(c // r, c, 1)

        def forward(self, x):
            s = F.adaptive_avg_pool2d(x, 1)
            return x * F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))

    class InvertedResidual(nn.Module):
        def __init__(self, cin, cout, expand, stride):
            super().__init__()
            hid = cin * expand
            self.block = nn.Sequential(
                nn.Conv2d(cin, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.Hardswish(),
                nn.Conv2d(hid, hid, 3, stride, 1, groups=hid, bias=False), nn.BatchNorm2d(hid), nn.Hardswish(),
                SE(hid),
                nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout))
            self.use_res = stride == 1 and cin == cout

        def forward(self, x):
            y = self.block(x)
            return x + y if self.use_res else y

    class LRASPP(nn.Module):
        def __init__(self, n_cls=4):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.Hardswish())
            self.low = nn.Sequential(InvertedResidual(16, 24, 4, 2), InvertedResidual(24, 24, 3, 1))
            self.high = nn.Sequential(InvertedResidual(24, 40, 3, 2), InvertedResidual(40, 40, 3, 1))
            self.cbr = nn.Sequential(nn.Conv2d(40, 32, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
            self.scale = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(40, 32, 1), nn.Sigmoid())
            self.low_cls = nn.Conv2d(24, n_cls, 1)
            self.high_cls = nn.Conv2d(32, n_cls, 1)

        def forward(self, x):
            low = self.low(self.stem(x))
            high = self.high(low)
            y = self.cbr(high) * self.scale(high)
            y = F.interpolate(y, size=low.shape[-2:], mode="bilinear", align_corners=False)
            y = self.low_cls(low) + self.high_cls(y)
            return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)

    x = torch.randn(4, 3, 64, 64)
    return dict(model=_calibrate_bn(LRASPP(), x), inputs=x, expect=[])
