"""The ONE place where Python keyword options become the library's method parameters.

Every batch method the library registers is listed in BATCH_METHODS with the options it takes.
``l2h.train`` calls ``train_model``; nothing else in the package knows a method's parameters, so
moving to a library-side method registry with named parameters means changing this file only.

Option names are the CLI's long options with '-' -> '_' (``l2h train --help``); defaults are the
library's per-method defaults (l2h_train_method_params and the registry's option tables), except
``seed`` which defaults to 1 like the CLI's, so ``l2h.train`` and ``l2h train`` give the same
model for the same rows and options."""
import numbers

from ._arrays import dataset
from ._errors import check
from ._l2h_cffi import ffi, lib

SHARED_OPTIONS = ("seed", "center", "l2_normalize")
SGD_OPTIONS = SHARED_OPTIONS + (
    "hidden", "epochs", "batch", "optimizer", "lr", "momentum", "nesterov", "weight_decay",
    "schedule", "lr_step", "lr_gamma", "lr_power", "last_lr_mult", "val_fraction", "val_every",
)
# keyword spellings of earlier releases, per method (translated in _legacy below)
_LEGACY = {
    "hashnet": ("weight", "continuation", "beta_gamma", "beta_power", "beta_step"),
    "jmlh": ("regularizer", "continuous"),
}


def _registry():
    """method -> (kind, options it accepts, labels required, {keyword: option name}) from the
    library's batch method registry (l2h_train_method_info)."""
    out = {}
    for i in range(lib.l2h_train_method_count()):
        mi = lib.l2h_train_method_info(i)
        name = ffi.string(mi.name).decode()
        own = {}
        for j in range(mi.n_options):
            opt = ffi.string(mi.options[j].name).decode()
            own[opt.replace("-", "_")] = opt
            own[f"{name}_{opt}".replace("-", "_")] = opt  # e.g. itq_iters, jmlh_variant
        kind = "learned" if mi.batch > 0 else "baseline"
        shared = SGD_OPTIONS if kind == "learned" else SHARED_OPTIONS
        out[name] = (kind, shared + tuple(own) + _LEGACY.get(name, ()), bool(mi.needs_labels),
                     own)
    return out


BATCH_METHODS = _registry()
NETS = {"linear": lib.L2H_NET_LINEAR, "mlp": lib.L2H_NET_MLP, "cnn": lib.L2H_NET_CNN}
_OPTIMIZERS = {"sgd": lib.L2H_OPT_SGD, "adam": lib.L2H_OPT_ADAM}
_SCHEDULES = {"const": lib.L2H_SCHED_CONST, "step": lib.L2H_SCHED_STEP, "inv": lib.L2H_SCHED_INV}


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


def _text(key, v):
    """A keyword value as the option text the library parses."""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        return repr(float(v))
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple)):
        return ",".join(_text(key, x) for x in v)
    raise ValueError(f"{key}: unsupported value {v!r}")


def _legacy(method, o):
    """{option name: text} of the keyword spellings of earlier releases."""
    out = {}
    if method == "hashnet":
        if o.get("weighting") == "const" or ("weight" in o and "weighting" not in o):
            out["weighting"] = _text("weight", _float("weight", o.get("weight", 1.0)))
        if "continuation" in o:
            out["no-continuation"] = "0" if o["continuation"] else "1"
        if any(k in o for k in ("beta_gamma", "beta_power", "beta_step")):
            out["beta-schedule"] = ",".join((
                _text("beta_gamma", _float("beta_gamma", o.get("beta_gamma", 0.005))),
                _text("beta_power", _float("beta_power", o.get("beta_power", 0.5))),
                str(_int("beta_step", o.get("beta_step", 200), 1))))
    if method == "jmlh":
        if o.get("continuous"):
            out["variant"] = "cont"
        elif "regularizer" in o:
            out["variant"] = _choice("regularizer", o["regularizer"],
                                     {"kl": "full", "qr": "qr", "none": "nr"})
    return out


def _shared_params(method, bits, net, o, keep):
    cmethod = ffi.new("char[]", method.encode())
    keep.append(cmethod)
    p = lib.l2h_train_method_params(cmethod, bits)
    p.seed = _int("seed", o.get("seed", 1))
    for key in ("center", "l2_normalize"):
        if key in o:
            setattr(p, key, bool(o[key]))
    if BATCH_METHODS[method][0] != "learned":
        return p
    p.net = _choice("model", net, NETS)
    if "nesterov" in o:
        p.nesterov = bool(o["nesterov"])
    if "hidden" in o:
        h = o["hidden"]
        h = [h] if isinstance(h, numbers.Integral) else list(h)
        if not 1 <= len(h) <= 4:
            raise ValueError(f"hidden must give 1 to 4 layer sizes, got {o['hidden']!r}")
        for i, v in enumerate(h):
            p.hidden[i] = _int("hidden", v, 1)
        p.n_hidden = len(h)
    for key in ("epochs", "lr_step", "val_every"):
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
                "val_fraction"):
        if key in o:
            setattr(p, key, _float(key, o[key]))
    return p


def _method_options(method, o):
    """{option name: text} of the method's own options given as keywords."""
    own = BATCH_METHODS[method][3]
    out = {}
    for key, v in o.items():
        if key in own and not (method == "hashnet" and key == "weighting" and v == "const"):
            out[own[key]] = _text(key, v)
    out.update(_legacy(method, o))
    return out


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
    kind, _, needs_labels, _ = BATCH_METHODS[method]
    bits = _int("bits", bits, 1)
    if needs_labels and labels is None:
        raise ValueError(f"method {method!r} learns from labels: pass labels=")
    if kind == "baseline" and net != "linear":
        raise ValueError(f"method {method!r} is linear; model={net!r} applies to learned "
                         f"methods only")
    ds = dataset(x, labels)
    out = ffi.new("l2h_model **")
    keep = []
    p = ffi.new("l2h_train_params *", _shared_params(method, bits, net, options, keep))
    state = {}
    if progress is not None and kind == "learned":
        cb = _progress_callback(progress, state)
        p.callback = cb
    ctx = ffi.new("l2h_train_ctx **")
    check(lib.l2h_train_create(ctx, p), method)
    c = ffi.gc(ctx[0], lib.l2h_train_free)
    for name, text in _method_options(method, options).items():
        check(lib.l2h_train_set_option(c, name.encode(), text.encode()), method)
    st = lib.l2h_train_fit(c, ds, out)
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
    "confidence",
)
# fields of newer libraries (preprocessing inside the online engine), when the build has them
ONLINE_OPTIONS += tuple(f for f in ("center", "l2_normalize", "dist_percentile")
                        if f in dict(ffi.typeof("l2h_online_params").fields))
_POLICIES = {"fixed": lib.L2H_ONLINE_POLICY_FIXED, "trigger": lib.L2H_ONLINE_POLICY_TRIGGER,
             "trigger-se": lib.L2H_ONLINE_POLICY_TRIGGER_SE,
             "trigger-unpaired": lib.L2H_ONLINE_POLICY_TRIGGER_UNPAIRED}
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
    policy "fixed" | "trigger" | "trigger-se" | "trigger-unpaired", with `confidence` for the
    last two)."""
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
