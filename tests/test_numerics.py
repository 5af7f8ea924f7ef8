"""A study's numerics: part of the study, the same wherever it runs, recorded per
run, said in the report when its seeds differ in them, and the weights each CPU
kind trains kept in benchmarks/cpu_numerics.csv."""

import csv
import json

import pytest

from ablation import devices, models, report_provenance
from ablation.devices import cpu_model
from conftest import REPO, check, snakemake

RECORD = REPO / "benchmarks" / "cpu_numerics.csv"
AVX2_FLAGS = "flags\t\t: fpu sse sse2 sse4_1 sse4_2 avx avx2 fma\n"
AVX512_FLAGS = AVX2_FLAGS.rstrip() + " avx512f avx512dq avx512bw avx512vl\n"


def test_the_instruction_set_onednn_runs_is_the_cpus_or_the_cap_below_it():
    assert devices.cpu_isa(AVX2_FLAGS) == "AVX2"
    assert devices.cpu_isa(AVX512_FLAGS) == "AVX512_CORE"
    capped = devices.numerics_used({"threads": 1, "onednn_max_cpu_isa": "AVX2"}, AVX512_FLAGS)
    assert capped["cpu_isa"] == "AVX2"
    # A cap above the CPU's own set changes nothing.
    above = devices.numerics_used({"threads": 1, "onednn_max_cpu_isa": "AVX512_CORE"}, AVX2_FLAGS)
    assert above["cpu_isa"] == "AVX2"


def environment(threads=1, isa="AVX512_CORE", cpu="Intel Xeon"):
    return {"tensorflow": "2.21.0", "cpu": cpu, "gpus": [],
            "numerics": {"threads": threads, "onednn_max_cpu_isa": None, "cpu_isa": isa}}  # fmt: skip


def test_runs_are_grouped_by_what_decided_their_weights():
    run = lambda seed, env: {"facts": {"seed": seed, "environment": env}}  # noqa: E731
    runs = {
        "baseline": [run(1, environment()), run(2, environment()), run(3, environment(isa="AVX2"))],
        "with_bn": [run(1, environment()), run(2, environment(threads=2))],
    }
    groups = report_provenance.numerics_groups(runs)
    assert [g["count"] for g in groups] == [3, 1, 1]
    assert groups[0]["runs"] == {"baseline": [1, 2], "with_bn": [1]}
    assert "1 thread, oneDNN at AVX512_CORE" in groups[0]["numerics"]
    words = {g["numerics"] for g in groups[1:]}
    assert any("oneDNN at AVX2" in w for w in words) and any("2 threads" in w for w in words)
    # The fingerprint leaves the CPU's name out: what two machines must share.
    fingerprint = report_provenance.numerics_fingerprint
    assert fingerprint(environment(cpu="Intel Xeon")) == fingerprint(environment(cpu="AMD EPYC"))
    assert fingerprint(environment()) != fingerprint(environment(isa="AVX2"))
    assert fingerprint(environment()) != fingerprint(
        {**environment(), "numerics": {**environment()["numerics"], "exact_reciprocals": True}}
    )


def same_kind(recorded_cpu):
    """A row of this CPU kind: its name, and its family and model where the row has
    them (rows recorded before cpu_model() gave them have the name alone)."""
    here = cpu_model()
    return recorded_cpu == here or (
        "(family" not in recorded_cpu and here.startswith(f"{recorded_cpu} (")
    )


def reciprocals(facts) -> str:
    return "ieee" if facts["environment"]["numerics"].get("exact_reciprocals") else "tensorflow"


def recorded(setting, facts, any_kind=False):
    """The tiny study's weights recorded for this TensorFlow and these numerics, by
    variant: on this CPU kind, or (``any_kind``) on whichever kinds recorded them,
    which must then agree."""
    with RECORD.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f)
                if (any_kind or same_kind(r["cpu"]) and r["cpu_isa"] == devices.cpu_isa())
                and r["tensorflow"] == facts["environment"]["tensorflow"]
                and r["setting"] == setting and r["reciprocals"] == reciprocals(facts)]  # fmt: skip
    if not rows:
        pytest.skip(
            f"no weights recorded for {cpu_model()} ({devices.cpu_isa()}): "
            "record them with .venv/bin/python benchmarks/cpu_numerics.py --record"
        )
    by_variant = {}
    for r in rows:
        by_variant.setdefault(r["variant"], {})[r["cpu"]] = r["tiny_weights_sha256"]
    return by_variant


def training_facts(project, variant):
    return json.loads((project / "results" / variant / "seed1" / "training.json").read_text())


@pytest.mark.workflow
def test_the_tiny_study_trains_the_weights_every_cpu_kind_recorded(tiny_study):
    """Under the default numerics (oneDNN at AVX2, IEEE reciprocals) the tiny study's
    weights are those recorded on every CPU kind so far, this one's or not: a kind
    that trains others fails here, recorded or not."""
    for variant in ("baseline", "with_bn"):
        facts = training_facts(tiny_study, variant)
        assert facts["environment"]["numerics"]["cpu_isa"] in ("AVX2", None)
        assert reciprocals(facts) == "ieee"
        for cpu, weights in recorded("avx2", facts, any_kind=True)[variant].items():
            assert facts["weights_sha256"] == weights, (variant, cpu)
    # The report names the numerics by a fingerprint without the CPU's name.
    report = (tiny_study / "report.md").read_text()
    fingerprint = report_provenance.numerics_fingerprint(facts["environment"])
    assert f"oneDNN at AVX2, IEEE reciprocals; CPU {cpu_model()};" in report
    assert f"numerics fingerprint\n  `{fingerprint}`" in report


@pytest.mark.workflow
def test_uncapped_onednn_trains_this_cpus_own_weights(study_copy):
    """The setting reaches oneDNN from inside the workflow (set before TensorFlow
    starts): the weights are those benchmarks/cpu_numerics.py recorded without
    ONEDNN_MAX_CPU_ISA in the environment of a fresh process."""
    model = "results/baseline/seed1/model.keras"
    check(snakemake(study_copy, model, "--config", "numerics={onednn_max_cpu_isa: null}"))
    facts = training_facts(study_copy, "baseline")
    assert facts["environment"]["numerics"]["onednn_max_cpu_isa"] is None
    assert facts["environment"]["numerics"]["cpu_isa"] == devices.cpu_isa()
    (weights,) = recorded("uncapped", facts)["baseline"].values()
    assert facts["weights_sha256"] == weights


def test_every_cpu_kind_recorded_trains_the_same_weights_under_the_default_numerics():
    """The claim of the default `numerics:` across CPU kinds: each session on a new
    kind records its rows (benchmarks/cpu_numerics.py --record); a kind whose
    weights under the default (oneDNN at AVX2, IEEE reciprocals) differ from
    another's fails here. Rows of TensorFlow's own reciprocals are kept as measured:
    with_bn and sigmoid_output differ there between Intel and AMD."""
    with RECORD.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["setting"] == "avx2"]
    default, before = {}, {}
    for r in rows:
        into = default if r["reciprocals"] == "ieee" else before
        into.setdefault((r["tensorflow"], r["variant"]), {})[r["cpu"]] = r["tiny_weights_sha256"]
    assert default
    for key, by_cpu in default.items():
        assert len(set(by_cpu.values())) == 1, (key, by_cpu)
    # What the IEEE reciprocals were for: TensorFlow's differ between the kinds.
    assert len(set(before["2.21.0", "with_bn"].values())) > 1
    assert len(set(before["2.21.0", "baseline"].values())) == 1


@pytest.mark.workflow
def test_the_thread_count_is_the_studys_not_the_jobs(study_copy):
    plan = check(snakemake(study_copy, "-n", "report.md", "--config", "numerics={threads: 2}"))
    for variant in ("baseline", "with_bn"):
        assert f"Training {variant} with seed 1" in plan.stdout, plan.stdout
    # More cores for a job (a cluster's CPUs, --set-threads) retrain nothing.
    same = check(snakemake(study_copy, "-n", "report.md", "--set-threads", "train=2"))
    assert "Nothing to be done" in same.stdout, same.stdout
    assert training_facts(study_copy, "baseline")["environment"]["intra_op_threads"] == 1


@pytest.mark.workflow
def test_a_study_trained_under_two_numerics_says_so(study_copy):
    # with_bn's seed 1 as if trained on another machine and copied back.
    path = study_copy / "results" / "with_bn" / "seed1" / "training.json"
    facts = json.loads(path.read_text())
    facts["environment"]["numerics"]["cpu_isa"] = "AVX512_CORE"
    path.write_text(json.dumps(facts))
    check(snakemake(study_copy, "report.md"))
    report = (study_copy / "report.md").read_text()
    assert "**Seeds trained under 2 different numerics**" in report
    assert "oneDNN at AVX512_CORE, IEEE reciprocals; CPU " in report
    assert "`): with_bn seed 1" in report  # after the group's fingerprint


# Issue 35: the operations whose results were the CPU vendor's, and their IEEE forms.


def ieee_inputs():
    import numpy as np

    rng = np.random.default_rng(35)
    return rng.lognormal(0, 3, 50_000).astype(np.float32)


def test_tensorflows_rsqrt_and_reciprocal_are_approximations_on_the_cpu():
    """Why with_bn and sigmoid_output trained other weights on Intel than on AMD:
    TensorFlow's CPU rsqrt and reciprocal refine the processor's approximate
    rsqrtps / rcpps (whose bits are the vendor's) by one Newton step, so they are not
    the correctly rounded IEEE results that division and square root give."""
    import numpy as np
    import tensorflow as tf

    v = ieee_inputs()
    ieee = np.float32(1) / np.sqrt(v)
    assert np.array_equal(tf.sqrt(v).numpy(), np.sqrt(v))  # IEEE: every processor alike
    assert np.mean(tf.math.rsqrt(v).numpy() != ieee) > 0.05
    assert np.mean(tf.math.reciprocal(v).numpy() != np.float32(1) / v) > 0.05
    # Inside a tf.function (as Keras's fit runs) TensorFlow's graph optimizer turns
    # 1 / sqrt(v) into rsqrt: the IEEE form must go through an op it leaves alone.
    rewritten = tf.function(lambda v: 1.0 / tf.sqrt(v))(v).numpy()
    assert not np.array_equal(rewritten, ieee)
    kept = tf.function(lambda v: models.ieee_divide(tf.ones_like(v), tf.sqrt(v)))(v).numpy()
    assert np.array_equal(kept, ieee)


def batch(seed=0, shape=(16, 6, 6, 8)):
    import numpy as np

    return np.random.default_rng(seed).normal(0.3, 2.0, shape).astype(np.float32)


def test_batch_normalization_is_ieee_and_keras_to_within_rounding():
    """The study's BatchNormalization: in a tf.function, as fit runs it, its output
    is x * inv + (beta - mean * inv) with inv = gamma / sqrt(variance + eps) in IEEE
    float32 operations, bit for bit (so the same on every processor); and Keras's own
    layer's output and gradients to within float rounding."""
    import keras
    import numpy as np
    import tensorflow as tf

    x = batch()
    ours, theirs = models.exact_batch_normalization()(), keras.layers.BatchNormalization()
    for layer in (ours, theirs):
        layer.build(x.shape)
        layer.gamma.assign(np.linspace(0.5, 1.5, 8).astype(np.float32))
        layer.beta.assign(np.linspace(-0.2, 0.2, 8).astype(np.float32))
        layer.moving_mean.assign(np.linspace(-1, 1, 8).astype(np.float32))
        layer.moving_variance.assign(np.linspace(0.1, 4, 8).astype(np.float32))

    # Inference: the moving statistics, known exactly here.
    out = tf.function(lambda x: ours(x, training=False))(x).numpy()
    mean, var = ours.moving_mean.numpy(), ours.moving_variance.numpy()
    inv = (np.float32(1) / np.sqrt(var + np.float32(ours.epsilon))) * ours.gamma.numpy()
    assert np.array_equal(out, x * inv + (ours.beta.numpy() - mean * inv))

    # Training: output and every gradient as Keras's, to float rounding.
    def step(layer):
        @tf.function
        def run(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x, training=True)
                loss = tf.reduce_sum(y * tf.sin(y))
            return y, tape.gradient(loss, [x, layer.gamma, layer.beta])

        return run(tf.constant(x))

    (y_ours, g_ours), (y_theirs, g_theirs) = step(ours), step(theirs)
    np.testing.assert_allclose(y_ours, y_theirs, rtol=1e-5, atol=1e-6)
    for a, b in zip(g_ours, g_theirs):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.moving_variance, theirs.moving_variance, rtol=1e-6)


def test_the_log_of_a_loss_on_probabilities_has_an_ieee_gradient():
    """TensorFlow's gradient of log is dy * reciprocal(x), the CPU vendor's bits;
    the study's is dy / x, bit for bit in IEEE float32, inside a tf.function."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(7)
    p = rng.uniform(1e-7, 1, 50_000).astype(np.float32)
    dy = rng.normal(0, 1, 50_000).astype(np.float32)

    @tf.function
    def gradients(p):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(p)
            ours, theirs = models.log_with_exact_gradient(p), tf.math.log(p)
        return tape.gradient(ours, p, dy), tape.gradient(theirs, p, dy), ours, theirs

    ours, theirs, log_ours, log_theirs = (t.numpy() for t in gradients(tf.constant(p)))
    assert np.array_equal(log_ours, log_theirs)  # the same log
    assert np.array_equal(ours, dy / p)
    assert not np.array_equal(theirs, dy / p)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("exact", [True, False])
def test_a_model_saved_with_either_numerics_loads_as_it_was(tmp_path, exact):
    import numpy as np

    arch = {**models.ORIGINAL_MODEL, "conv_filters": [4], "kernel_size": 3, "pool_size": 2,
            "batch_norm": True, "activation": "relu", "dense_units": [8],
            "output_activation": "sigmoid", "loss_on": "probabilities"}  # fmt: skip
    model = models.build_model(arch, (8, 8), 3, exact_reciprocals=exact)
    models.compile_model(model, {"optimizer": "adam", "learning_rate": 0.001, "loss": "x"},
                         "probabilities", exact_reciprocals=exact)  # fmt: skip
    model.save(tmp_path / "m.keras")
    loaded = models.read_model(tmp_path / "m.keras")
    assert [type(a) for a in loaded.layers] == [type(a) for a in model.layers]
    assert loaded.loss.__name__ == model.loss.__name__ or loaded.loss == model.loss
    x = batch(1, (2, 8, 8, 1))
    assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# Ops whose CPU kernels start from an approximate instruction (rsqrtps, rcpps).
APPROXIMATE = {"Rsqrt", "Reciprocal", "Inv", "Softmax"}


def study_variants(study_file):
    """Every variant of a study file, as its trainings get them."""
    from ablation import config
    from ablation.study import Study

    cfg = config.check_yaml_file(REPO / "config.yaml")
    if study_file != "config.yaml":
        named = config.check_yaml_file(REPO / study_file)
        config.replace_sets(cfg, named)
        cfg.update({k: v for k, v in named.items() if k not in ("variants", "comparisons")})
    return Study.from_config(config.checked(cfg)).variants


def approximate_ops_of_a_training_step(arch, exact: bool) -> set[str]:
    """The approximate ops a training step's gradients depend on, in the graph that
    TensorFlow's optimizer (Grappler) makes of it, as fit runs it: Grappler rewrites
    1 / x into Reciprocal and x / sqrt(y) into x * Rsqrt(y)."""
    import tensorflow as tf
    from tensorflow.core.protobuf import config_pb2
    from tensorflow.python.grappler import tf_optimizer

    model = models.build_model(arch, (28, 28), 10, exact_reciprocals=exact)
    training = {
        "optimizer": "adam",
        "learning_rate": 0.001,
        "loss": "sparse_categorical_crossentropy",
    }
    models.compile_model(model, training, arch["loss_on"], exact_reciprocals=exact)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = model.compute_loss(x, y, model(x, training=True))
        return tape.gradient(loss, model.trainable_variables)

    function = step.get_concrete_function(tf.zeros((8, 28, 28, 1)), tf.zeros((8,), tf.int64))
    with function.graph.as_default():
        meta = tf.compat.v1.train.export_meta_graph(graph=function.graph)
    outputs = [t.name.split(":")[0] for t in function.outputs]
    meta.collection_def["train_op"].node_list.value.extend(outputs)
    nodes = {n.name: n for n in tf_optimizer.OptimizeGraph(config_pb2.ConfigProto(), meta).node}
    seen, stack = set(), outputs
    while stack:
        name = stack.pop()
        if name in nodes and name not in seen:
            seen.add(name)
            stack += [i.lstrip("^").split(":")[0] for i in nodes[name].input]
    return {nodes[n].op for n in seen} & APPROXIMATE


@pytest.mark.parametrize("study_file", ["config.yaml", "config/depth.yaml"])
def test_no_training_step_of_any_variant_runs_an_approximate_reciprocal(study_file):
    """Every variant of the default and the depth study, under the default numerics:
    no op whose bits are the CPU vendor's on the path to the weights. Under
    TensorFlow's own reciprocals, exactly the variants that trained other weights on
    Intel than on AMD have one (benchmarks/cpu_numerics.csv)."""
    for name, arch in study_variants(study_file).items():
        assert approximate_ops_of_a_training_step(arch, exact=True) == set(), name
    if study_file == "config.yaml":
        variants = study_variants(study_file)
        found = {n: approximate_ops_of_a_training_step(a, exact=False) for n, a in variants.items()}
        assert found == {"baseline": set(), "with_bn": {"Rsqrt"}, "shallower": set(),
                         "deeper": set(), "sigmoid_output": {"Reciprocal"}}  # fmt: skip
