"""benchmarks/train_speed.py: the report it writes says what was measured, without training anything."""

import pytest


@pytest.fixture(scope="module")
def ts(load_benchmark):
    return load_benchmark("train_speed")


FLOPS = dict(forward_per_sample=1.083e6, forward_by_hand=1.083e6, train_per_sample=2.859e6, epoch=182e9)
INFO = dict(cpu="test CPU", cores=2, threads=2, gpu="none", torch="2.x")


def rows(times):
    return [dict(name=name, steady=s, first=s, acc=0.98, all=[s, s]) for name, s in times.items()]


def render(ts, times, native_bf16, no_compile=None):
    return ts.render(dict(INFO, cpu_native_bf16=native_bf16), rows(times), times["DataLoader loop (float32)"], FLOPS,
                     100, 100, 400, 1.0, 2, 60_000, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), True, "cpu", no_compile)


FP32 = {"engine (float32)": 10.0, "engine, default layout (float32)": 12.0, "engine, Adam not fused (float32)": 11.0,
        "engine, ReLU after pool (float32)": 5.0, "engine, ReLU after pool, 1 thread (float32)": 8.0,
        "DataLoader loop (float32)": 9.0, "Keras fit (float32)": 6.0, "Keras fit, ReLU after pool (float32)": 6.5}


def test_without_native_bf16_the_report_says_the_bf16_target_cannot_be_tested(ts, monkeypatch):
    monkeypatch.setattr(ts, "precision_for", lambda amp, device: "float32")
    text = render(ts, FP32, native_bf16=False, no_compile="RuntimeError: no compiler")
    assert "cannot be tested here" in text and "torch.compile not run (RuntimeError: no compiler)" in text
    # Keras 6.0 s vs engine 10.0 s (article order) and 5.0 s (ReLU after pool)
    assert "not met with the article's layer order (0.60x)" in text
    assert "met with ReLU after the pooling (1.20x)" in text
    assert "at least 1.5x Keras: not met (0.60x)" in text
    assert "| engine (float32) | 10.0, 10.0 | 10.0 | 0.90x | 10.0x | - | 0.9800 |" in text


def test_with_native_bf16_the_default_is_judged_against_the_1_5x_target(ts, monkeypatch):
    monkeypatch.setattr(ts, "precision_for", lambda amp, device: "bfloat16")
    times = dict(FP32, **{"engine (bfloat16)": 4.0, "engine, ReLU after pool (bfloat16)": 3.0,
                          "engine, ReLU after pool, torch.compile (float32)": 4.0})
    text = render(ts, times, native_bf16=True)
    assert "bfloat16 (native on this CPU): engine 1.50x, ReLU after pool 2.00x" in text
    assert "at least 1.5x Keras: met (1.50x), and with ReLU after the pooling 2.00x" in text
    assert "torch.compile 1.25x" in text
    assert "ReLU + pool fused not run" in text  # no row without the fusion in this fake run
    assert "the fastest row, engine, ReLU after pool (bfloat16), is at 3.0x (met)" in text


def test_write_section_replaces_only_its_own_block(ts, tmp_path, monkeypatch):
    results = tmp_path / "RESULTS.md"
    results.write_text(f"# Benchmark results\n\n{ts.START}\nold\n{ts.END}\n\n<!-- other:start -->\nkept\n<!-- other:end -->\n")
    monkeypatch.setattr(ts, "RESULTS", results)
    ts.write_section("new report")
    text = results.read_text()
    assert "new report" in text and "old" not in text and "kept" in text and text.count(ts.START) == 1


def test_the_op_by_op_bound_is_given_for_rows_that_run_the_ops_unfused_only(ts, monkeypatch):
    monkeypatch.setattr(ts, "precision_for", lambda amp, device: "bfloat16")
    times = dict(FP32, **{"engine (bfloat16)": 4.0, "engine, ReLU after pool (bfloat16)": 3.0,
                          "engine, ReLU + pool not fused (float32)": 12.0, "DataLoader loop (bfloat16)": 8.0,
                          "engine, ReLU after pool, torch.compile (float32)": 4.0})
    bound = lambda s, mb: dict(seconds=s, step_ms=1.0, step_mb=mb, step_gflop=0.37, memory_share=0.9)  # noqa: E731
    bounds = {(False, False): bound(5.0, 158), (True, False): bound(2.5, 116), (False, True): bound(2.0, 92),
              (True, True): bound(1.5, 71)}
    text = ts.render(dict(INFO, cpu_native_bf16=True), rows(times), 9.0, FLOPS, 100, 100, 400, 1.0, 2, 60_000,
                     (0.5,) * 3, (0.5,) * 3, True, "cpu", None, 20.0, bounds)
    assert "| engine, ReLU + pool not fused (float32) | 12.0, 12.0 | 12.0 | 0.75x | 12.0x | 2.4x |" in text  # 12 / 5
    assert "| DataLoader loop (bfloat16) | 8.0, 8.0 | 8.0 | 1.12x | 8.0x | 4.0x |" in text  # 8 s / 2 s
    assert "| engine (float32) | 10.0, 10.0 | 10.0 | 0.90x | 10.0x | - | 0.9800 |" in text  # fused: no bound
    assert "| Keras fit (float32) | 6.0, 6.0 | 6.0 | 1.50x | 6.0x | - |" in text
    assert "| engine, ReLU after pool, torch.compile (float32) | 4.0, 4.0 | 4.0 | 2.25x | 4.0x | - |" in text
    assert "moves 158 MB in the article's order in float32 (116 MB with ReLU after the pool; 92 and 71 MB" in text
    assert "at least 5.00 s in the article's order in float32 and 1.50 s with ReLU after the pool in bfloat16" in text
    assert "the fastest row that runs them unfused, DataLoader loop (bfloat16), takes 4.0x its bound" in text
    assert "ReLU + pool fused 1.20x" in text  # 12 s unfused / 10 s


def test_the_race_is_against_the_faster_of_keras_two_runs(ts, monkeypatch):
    monkeypatch.setattr(ts, "precision_for", lambda amp, device: "float32")
    times = dict(FP32, **{"Keras fit, run before the engine (float32)": 5.0})  # the end run took 6.0 s
    text = render(ts, times, native_bf16=False)
    assert "Keras is the faster of its two runs, 5.0 s" in text
    assert "not met with the article's layer order (0.50x)" in text  # 5.0 s / 10.0 s
