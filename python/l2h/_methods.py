"""The ONE place where Python keyword options become the library's method parameters.

Every batch method the library registers is listed in BATCH_METHODS with the options it takes.
``l2h.train`` calls ``train_model``; nothing else in the package knows a method's parameters, so
moving to a library-side method registry with named parameters means changing this file only.

Option names are the CLI's long options with '-' -> '_' (``l2h train --help``); defaults are the
library's per-method defaults (l2h_train_method_params / l2h_baseline_default_params), except
``seed`` which defaults to 1 like the CLI's, so ``l2h.train`` and ``l2h train`` give the same
model for the same rows and options."""
import numbers

from ._arrays import dataset
from ._errors import check
from ._l2h_cffi import ffi, lib

BASELINE_OPTIONS = ("seed", "center", "l2_normalize", "itq_iters", "max_train")
LEARNED_OPTIONS = (
    "seed", "center", "l2_normalize", "hidden", "epochs", "batch", "optimizer", "lr",
    "momentum", "nesterov", "weight_decay", "schedule", "lr_step", "lr_gamma", "lr_power",
    "last_lr_mult", "val_fraction", "val_every",
)
HASHNET_OPTIONS = ("alpha", "weighting", "weight", "self_pairs", "continuation", "beta_gamma",
                   "beta_power", "beta_step", "beta_stages")
JMLH_OPTIONS = ("gamma", "regularizer", "deterministic", "continuous", "jmlh_variant")
MIHASH_OPTIONS = ("bins", "scale")

# method -> (kind, options it accepts, labels required)
BATCH_METHODS = {
    "lsh": ("baseline", BASELINE_OPTIONS, False),
    "itq": ("baseline", BASELINE_OPTIONS, False),
    "mihash": ("learned", LEARNED_OPTIONS + MIHASH_OPTIONS, True),
    "hashnet": ("learned", LEARNED_OPTIONS + HASHNET_OPTIONS, True),
    "jmlh": ("learned", LEARNED_OPTIONS + JMLH_OPTIONS, True),
}
NETS = {"linear": lib.L2H_NET_LINEAR, "mlp": lib.L2H_NET_MLP, "cnn": lib.L2H_NET_CNN}
_OPTIMIZERS = {"sgd": lib.L2H_OPT_SGD, "adam": lib.L2H_OPT_ADAM}
_SCHEDULES = {"const": lib.L2H_SCHED_CONST, "step": lib.L2H_SCHED_STEP, "inv": lib.L2H_SCHED_INV}
_WEIGHTING = {"batch": lib.L2H_HASHNET_WEIGHT_BATCH, "none": lib.L2H_HASHNET_WEIGHT_NONE,
              "const": lib.L2H_HASHNET_WEIGHT_CONST}
_REGULARIZERS = {"kl": lib.L2H_JMLH_REG_KL, "qr": lib.L2H_JMLH_REG_QR,
                 "none": lib.L2H_JMLH_REG_NONE}


def _choice(name, value, table):
    if value not in table:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, table))}, got {value!r}")
    return table[value]


def _int(name, v, lo=0):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def _float(name, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ValueError(f"{name} must be a number, got {v!r}")
    return float(v)


def _check_options(method, options):
    if method not in BATCH_METHODS:
        raise ValueError(f"unknown method {method!r}; batch methods: "
                         f"{', '.join(BATCH_METHODS)}")
    allowed = BATCH_METHODS[method][1]
    bad = sorted(set(options) - set(allowed))
    if bad:
        raise TypeError(f"train(method={method!r}) got unknown option(s) {', '.join(bad)}; "
                        f"it takes: {', '.join(allowed)}")


def _baseline_params(bits, o):
    p = lib.l2h_baseline_default_params(bits)
    p.seed = _int("seed", o.get("seed", 1))
    if "center" in o:
        p.center = bool(o["center"])
    if "l2_normalize" in o:
        p.l2_normalize = bool(o["l2_normalize"])
    if "itq_iters" in o:
        p.itq_iters = _int("itq_iters", o["itq_iters"])
    if "max_train" in o:
        p.max_train = _int("max_train", o["max_train"])
    return p


def _learned_params(method, bits, net, o, keep):
    cmethod = ffi.new("char[]", method.encode())
    keep.append(cmethod)
    p = lib.l2h_train_method_params(cmethod, bits)
    p.net = _choice("model", net, NETS)
    p.seed = _int("seed", o.get("seed", 1))
    for key in ("center", "l2_normalize", "nesterov"):
        if key in o:
            setattr(p, key, bool(o[key]))
    if "hidden" in o:
        h = o["hidden"]
        h = [h] if isinstance(h, numbers.Integral) else list(h)
        if not 1 <= len(h) <= 4:
            raise ValueError(f"hidden must give 1 to 4 layer sizes, got {o['hidden']!r}")
        for i, v in enumerate(h):
            p.hidden[i] = _int("hidden", v, 1)
        p.n_hidden = len(h)
    for key in ("epochs", "lr_step", "val_every", "bins"):
        if key in o:
            setattr(p, key, _int(key, o[key]))
    if "batch" in o:
        p.batch = _int("batch", o["batch"], 2)
    if "optimizer" in o:
        p.optimizer = _choice("optimizer", o["optimizer"], _OPTIMIZERS)
        if "lr" not in o:  # as the CLI: a chosen optimiser gets its own default rate
            p.lr = 1e-3 if p.optimizer == lib.L2H_OPT_ADAM else 0.1
    if "schedule" in o:
        p.schedule = _choice("schedule", o["schedule"], _SCHEDULES)
    for key in ("lr", "momentum", "weight_decay", "lr_gamma", "lr_power", "last_lr_mult",
                "val_fraction", "scale"):
        if key in o:
            setattr(p, key, _float(key, o[key]))
    h = p.hashnet
    if "alpha" in o:
        h.alpha = _float("alpha", o["alpha"])
    if "weighting" in o:
        h.weighting = _choice("weighting", o["weighting"], _WEIGHTING)
    if "weight" in o:
        h.weight = _float("weight", o["weight"])
        if "weighting" not in o:
            h.weighting = lib.L2H_HASHNET_WEIGHT_CONST
    for key in ("self_pairs", "continuation"):
        if key in o:
            setattr(h, key, bool(o[key]))
    for key in ("beta_gamma", "beta_power"):
        if key in o:
            setattr(h, key, _float(key, o[key]))
    if "beta_step" in o:
        h.beta_step = _int("beta_step", o["beta_step"], 1)
    if "beta_stages" in o:
        st = [_float("beta_stages", v) for v in o["beta_stages"]]
        if not 1 <= len(st) <= 16:
            raise ValueError("beta_stages must give 1 to 16 values")
        for i, v in enumerate(st):
            h.beta_stages[i] = v
        h.n_beta_stages = len(st)
    j = p.jmlh
    if "jmlh_variant" in o:
        v = o["jmlh_variant"]
        if v == "cont":
            j.continuous = 1
        else:
            j.regularizer = _choice("jmlh_variant", v, {"full": lib.L2H_JMLH_REG_KL,
                                                        "qr": lib.L2H_JMLH_REG_QR,
                                                        "nr": lib.L2H_JMLH_REG_NONE})
    if "gamma" in o:
        j.gamma = _float("gamma", o["gamma"])
    if "regularizer" in o:
        j.regularizer = _choice("regularizer", o["regularizer"], _REGULARIZERS)
    for key in ("deterministic", "continuous"):
        if key in o:
            setattr(j, key, bool(o[key]))
    return p


def _progress_callback(progress, state):
    """An l2h_train_callback calling progress(dict) after every epoch; a true return value or
    an exception (KeyboardInterrupt included) stops training, the exception is re-raised."""
    keys = ("epoch", "epochs", "loss", "loss_aux", "val_map", "val_map_tie", "examples_per_s",
            "seconds")

    def onerror(exc_type, exc, tb):
        state["exc"] = exc if exc is not None else exc_type()
        return 1

    def cb(p, user):
        if progress is None:
            return 0
        return 1 if progress({k: getattr(p, k) for k in keys}) else 0

    return ffi.callback("l2h_train_callback", cb, onerror=onerror)


def train_model(x, labels, method, bits, net, options, progress=None):
    """Trains and returns a new l2h_model * (freed when garbage)."""
    _check_options(method, options)
    kind, _, needs_labels = BATCH_METHODS[method]
    bits = _int("bits", bits, 1)
    if needs_labels and labels is None:
        raise ValueError(f"method {method!r} learns from labels: pass labels=")
    if kind == "baseline" and net != "linear":
        raise ValueError(f"method {method!r} is linear; model={net!r} applies to learned "
                         f"methods only")
    ds = dataset(x, labels)
    out = ffi.new("l2h_model **")
    if kind == "baseline":
        p = ffi.new("l2h_baseline_params *", _baseline_params(bits, options))
        fn = lib.l2h_lsh_train if method == "lsh" else lib.l2h_itq_train
        check(fn(out, ds, p), method)
    else:
        keep = []
        p = ffi.new("l2h_train_params *", _learned_params(method, bits, net, options, keep))
        state = {}
        if progress is not None:
            cb = _progress_callback(progress, state)
            p.callback = cb
        st = lib.l2h_train(out, ds, p)
        if state.get("exc") is not None:
            raise state["exc"]
        check(st, method)
    return ffi.gc(out[0], lib.l2h_model_free)


# ---- online (stream) methods ---------------------------------------------------------------
ONLINE_OPTIONS = (
    "reservoir", "interval", "policy", "theta", "seed", "n_checkpoints", "n_init",
    "reservoir_prefill", "batch", "dist_threshold", "okh_c", "okh_alpha", "okh_anchors",
    "osh_eta", "osh_boost", "adapt_alpha", "adapt_beta", "adapt_step", "sketch_size",
    "mihash_bins", "mihash_scale", "mihash_step", "mihash_decay", "mihash_reference_grad",
)
# fields of newer libraries (preprocessing inside the online engine), when the build has them
ONLINE_OPTIONS += tuple(f for f in ("center", "l2_normalize", "dist_percentile")
                        if f in dict(ffi.typeof("l2h_online_params").fields))
_POLICIES = {"fixed": lib.L2H_ONLINE_POLICY_FIXED, "trigger": lib.L2H_ONLINE_POLICY_TRIGGER}
_ONLINE_INTS = ("reservoir", "interval", "seed", "n_checkpoints", "n_init",
                "reservoir_prefill", "batch", "okh_anchors", "sketch_size", "mihash_bins")
_ONLINE_BOOLS = ("osh_boost", "mihash_reference_grad", "center", "l2_normalize")


def online_methods():
    """Names of the online methods the library registers."""
    names, p = [], lib.l2h_online_methods()
    i = 0
    while p[i] != ffi.NULL:
        names.append(ffi.string(p[i]).decode())
        i += 1
    return tuple(names)


def online_params(method, bits, options, keep):
    """A new l2h_online_params * from keyword options (the fields of l2h_online_params;
    policy "fixed" | "trigger")."""
    methods = online_methods()
    if method not in methods:
        raise ValueError(f"unknown online method {method!r}; online methods: "
                         f"{', '.join(methods)}")
    bad = sorted(set(options) - set(ONLINE_OPTIONS))
    if bad:
        raise TypeError(f"Online(method={method!r}) got unknown option(s) {', '.join(bad)}; "
                        f"it takes: {', '.join(ONLINE_OPTIONS)}")
    p = ffi.new("l2h_online_params *", lib.l2h_online_default_params())
    cm = ffi.new("char[]", method.encode())
    keep.append(cm)
    p.method = cm
    p.bits = _int("bits", bits, 1)
    for key, v in options.items():
        if key == "policy":
            p.policy = _choice("policy", v, _POLICIES)
        elif key in _ONLINE_INTS:
            setattr(p, key, _int(key, v))
        elif key in _ONLINE_BOOLS:
            setattr(p, key, bool(v))
        else:
            setattr(p, key, _float(key, v))
    return p
