"""`fcn-ablation-search`: the fastest FCN-8s that keeps F, found rather than hand-picked.

The paper tried eight halvings by hand. Here Optuna (used directly, with a multi-objective
sampler) proposes one width factor per layer group (`search_space`), and each proposal is an
ordinary job of the training app: cut from the trained baseline with the configured transfer rule
and fine-tuned for the configured budget (`train`), filed in the results store with its factors.
Trials are selection jobs (`test=false`): the test split is never scored for them, and their
records lie in the store's `selection/` folder, apart from the table's rows, so only the front
members the user confirms (an ordinary sweep, `front.md` prints it) are ever tested.

Objectives: max F on the **validation** split (mean over `seeds`) and speed: the detection-time ratio to the baseline from the interleaved benchmark at the target
scale (`bench_width_multiplier`, 400x300, this device), or the multiply-add ratio (`speed=macs`).
Width does not change how time depends on the weights, so time is measured at the target scale
with random weights while F is trained at the scale the machine affords (`model.width_multiplier`
of the trials' jobs); the outputs say so.

The study lives in a journal file beside the results (`out_dir/study.journal`): a killed search
resumes where it stopped. A trial whose factors a completed trial already had is pruned, not run
again, and does not count towards `n_trials`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pandas as pd
from omegaconf import open_dict

from fcn_ablation import results_layout
from fcn_ablation.config.folder import config_dir
from fcn_ablation.config.rows import BASELINE
from fcn_ablation.errors import ConfigError, Diverged
from fcn_ablation.evaluation.registry import HEADLINE
from fcn_ablation.files import atomic_write_text, pyplot, save_figure, write_csv
from fcn_ablation.models.arch import BASE_WIDTHS, WIDTH_LAYERS
from fcn_ablation.store.job_entry import read_job_file
from fcn_ablation.store.record import Record

log = logging.getLogger(__name__)


def check_space(space) -> tuple[dict[str, list[str]], list[float]]:
    """The search space as plain data, or a `ConfigError` naming the bad group, layer or factor."""
    groups = {str(g): [str(n) for n in layers] for g, layers in space.groups.items()}
    if not groups:
        raise ConfigError("search_space.groups: empty; name at least one group of layers")
    seen: dict[str, str] = {}
    for group, layers in groups.items():
        if not layers:
            raise ConfigError(f"search_space.groups.{group}: no layers")
        for layer in layers:
            if layer not in BASE_WIDTHS:
                raise ConfigError(
                    f"search_space.groups.{group}: unknown layer {layer!r}; layers are {', '.join(WIDTH_LAYERS)}"
                )
            if layer in seen:
                raise ConfigError(f"search_space.groups: {layer} is in both {seen[layer]} and {group}")
            seen[layer] = group
    factors = [float(f) for f in space.factors]
    bad = [f for f in factors if not 0 < f <= 1]
    if not factors or bad:
        raise ConfigError(
            f"search_space.factors: each in (0, 1] (a trial is cut from the baseline, which it cannot exceed); got {list(space.factors)}"
        )
    return groups, sorted(set(factors), reverse=True)


def slug(group_factors: dict[str, float]) -> str:
    """A trial's name from its factors: `conv3x0.5-fc6x0.25`; `full` when nothing is thinned."""
    parts = [f"{g}x{f:g}" for g, f in group_factors.items() if f != 1.0]
    return "-".join(parts) or "full"


def layer_factors_of(group_factors: dict[str, float], groups: dict[str, list[str]]) -> dict[str, float]:
    return {layer: f for g, f in group_factors.items() if f != 1.0 for layer in groups[g]}


def table2_in_space(groups: dict[str, list[str]], factors: list[float]) -> dict[str, dict[str, float]]:
    """Table 2's rows that the space can express (whole groups halved), as group factors."""
    from fcn_ablation.config import experiments

    if 0.5 not in factors:
        return {}
    out = {}
    for name in experiments.TABLE2:
        halve = {layer for layer, f in experiments.factors(experiments.load(name)).items() if f == 0.5}
        chosen = {g: 0.5 if set(layers) <= halve else 1.0 for g, layers in groups.items()}
        if halve == {layer for g, f in chosen.items() if f == 0.5 for layer in groups[g]}:
            out[name] = chosen
    return out


def trial_config(scfg, experiment: str, factors: dict[str, float], seed: int, test: bool = False):
    """The training app's config for one trial's job: `scfg.train` overrides, this experiment.
    Trials are selection jobs (`test=false`): validated, never tested, filed apart from the table."""
    from hydra import compose

    overrides = [*scfg.train, "experiment=baseline", f"experiment.name={experiment}", f"seed={seed}", f"test={str(test).lower()}",
                 f"paths.results_dir={scfg.paths.results_dir}", f"paths.cache_dir={scfg.paths.cache_dir}"]  # fmt: skip
    cfg = compose(config_name="config", overrides=overrides)
    if experiment != BASELINE:  # the baseline stays the ordinary baseline job, which a later sweep finds done
        with open_dict(cfg):
            cfg.experiment.description = f"width search {scfg.name}: {experiment}"
            cfg.experiment.halve = []
            cfg.experiment.factors = dict(factors)
    return cfg


class Search:
    """One study: Optuna's journal, the trials' jobs and benchmarks, and the outputs."""

    def __init__(self, scfg) -> None:
        import optuna

        self.cfg = scfg
        self.groups, self.factors = check_space(scfg.search_space)
        if scfg.speed not in ("time", "macs"):
            raise ConfigError(f"speed: 'time' or 'macs', got {scfg.speed!r}")
        if scfg.sampler not in ("tpe", "nsga2"):
            raise ConfigError(f"sampler: 'tpe' or 'nsga2', got {scfg.sampler!r}")
        if scfg.n_trials < 1 or not scfg.seeds:
            raise ConfigError("n_trials >= 1 and at least one of seeds are needed")
        self._check_thinnest(scfg)
        self.out = Path(scfg.out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        storage = optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(self.out / "study.journal"))
        )
        sampler = (optuna.samplers.TPESampler(seed=scfg.seed, multivariate=True) if scfg.sampler == "tpe"
                   else optuna.samplers.NSGAIISampler(seed=scfg.seed))  # fmt: skip
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(study_name=scfg.name, storage=storage, sampler=sampler, load_if_exists=True,
                                         directions=["maximize", "minimize"])  # fmt: skip
        self._base_f: float | None = None

    # -- the study ---------------------------------------------------------------------------
    def completed(self) -> list:
        import optuna

        return [t for t in self.study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]

    def run(self) -> None:
        self.baseline_val_f()  # the reference first: its tested jobs, which the trials are cut from
        self._requeue_interrupted()
        if self.cfg.table2 and not self.study.get_trials(deepcopy=False):
            for name, params in table2_in_space(self.groups, self.factors).items():
                self.study.enqueue_trial(params, user_attrs={"table2": name})
        attempts = 0
        while len(self.completed()) < self.cfg.n_trials and attempts < 20 * self.cfg.n_trials:
            attempts += 1
            self.study.optimize(self._objective, n_trials=1, catch=())
        left = self.cfg.n_trials - len(self.completed())
        if left > 0:
            log.warning(
                "search %s: the space offered no new factors after %d proposals; %d trials short",
                self.cfg.name,
                attempts,
                left,
            )

    def _requeue_interrupted(self) -> None:
        """Trials a killed search left running are marked failed and proposed again, once."""
        import optuna

        for t in self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            self.study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
            self.study.enqueue_trial(t.params, user_attrs=dict(t.user_attrs))
            log.info("search %s: trial %d was interrupted; it runs again", self.cfg.name, t.number)

    def _objective(self, trial) -> tuple[float, float]:
        import optuna

        params = {g: trial.suggest_categorical(g, self.factors) for g in self.groups}
        for done in self.completed():
            if done.params == params:
                raise optuna.TrialPruned(f"the factors of trial {done.number}")
        for t in self.study.get_trials(deepcopy=False):
            if t.user_attrs.get("diverged") and t.params == params:
                raise optuna.TrialPruned(f"the factors of trial {t.number}, whose training diverged")
        name = f"search_{self.cfg.name}_{slug(params)}"
        factors = layer_factors_of(params, self.groups)
        f_values, recs = [], []
        for seed in self.cfg.seeds:
            try:
                rec = self._job(name, factors, seed)
            except Diverged as err:  # a finding about these factors and settings: the trial scores nothing
                trial.set_user_attr("diverged", str(err))
                raise optuna.TrialPruned(str(err)) from None
            f_values.append(float(rec.val_scores[HEADLINE]))
            recs.append(rec)
        val_f = sum(f_values) / len(f_values)
        speed = self._speed(name, recs[0].factors or {})
        base_f = self.baseline_val_f()
        trial.set_user_attr("experiment", name)
        trial.set_user_attr("factors", factors)
        trial.set_user_attr("val_f_seeds", f_values)
        trial.set_user_attr("val_f_vs_base_pct", 100 * (val_f - base_f) / base_f if base_f else None)
        trial.set_user_attr("records", [str(r.path) for r in recs])
        for k, v in speed.items():
            trial.set_user_attr(k, v)
        objective = speed["time_ratio"] if self.cfg.speed == "time" else speed["macs_ratio"]
        log.info(
            "search %s trial %d %s: val F %.4f, %s ratio %.3f",
            self.cfg.name,
            trial.number,
            name,
            val_f,
            self.cfg.speed,
            objective,
        )
        return val_f, objective

    def _check_thinnest(self, scfg) -> None:
        """The thinnest trial (every group at the smallest factor) keeps every layer at least
        `MIN_CHANNELS` wide at the training and the benchmark scale: checked before any trial,
        not met halfway through the study."""
        from fcn_ablation.models.widths import too_thin

        thinnest = {layer: min(self.factors) for layers in self.groups.values() for layer in layers}
        scales = {"bench_width_multiplier": float(scfg.bench_width_multiplier)}
        try:
            scales["the training's model.width_multiplier"] = float(
                trial_config(scfg, BASELINE, {}, 0).model.width_multiplier
            )
        except Exception:  # noqa: BLE001 - no Hydra context here (a library caller): the trial's own check stands
            pass
        for where, multiplier in scales.items():
            thin = too_thin(thinnest, multiplier)
            if thin:
                raise ConfigError(f"search_space.factors: the smallest, {min(self.factors):g}, at {where}={multiplier:g}: "
                                  f"{thin}; drop the smallest factors or raise the multiplier")  # fmt: skip

    # -- one trial's parts ------------------------------------------------------------------------
    def _job(self, name: str, factors: dict[str, float], seed: int, test: bool = False) -> Record:
        from fcn_ablation.store import filing
        from fcn_ablation.training.job import run

        cfg = trial_config(self.cfg, name, factors, seed, test)
        rec = run(cfg, self.out / "jobs" / f"{name}_seed{seed}")
        job = read_job_file(self.out / "jobs" / f"{name}_seed{seed}" / results_layout.JOB_FILE)
        rec = dataclasses.replace(rec, path=Path(job.record))  # relative to the results folder, as trials keep it
        if HEADLINE not in rec.val_scores:
            raise ConfigError(
                f"{filing.resolve(job.record, self.cfg.paths.results_dir)}: a record without validation scores; rerun=true"
            )
        return rec

    def baseline_val_f(self) -> float | None:
        """The baseline's val max F (mean over `seeds`), from its jobs in the store. The baseline is
        the reference, never a candidate: its jobs are ordinary tested ones, the very jobs the
        confirmation sweep then finds done (and the trials are cut from)."""
        if self._base_f is None:
            values = [float(self._job(BASELINE, {}, seed, test=True).val_scores[HEADLINE]) for seed in self.cfg.seeds]
            self._base_f = sum(values) / len(values)
        return self._base_f

    def _speed(self, name: str, factors: dict[str, float]) -> dict:
        """Time ratio (median over interleaved rounds, 95 % CI) and MACs ratio at the target scale."""
        from fcn_ablation.bench.inference import run_bench
        from fcn_ablation.config.schema import SpeedConfig
        from fcn_ablation.machine import torch_device
        from fcn_ablation.models.cost import model_cost
        from fcn_ablation.models.widths import build_widths

        c = self.cfg
        m, h, w = c.bench_width_multiplier, c.bench_height, c.bench_width
        widths = {BASELINE: build_widths({}, m), name: build_widths(factors, m)}
        _, base_macs = model_cost(widths[BASELINE], h, w)
        params, macs = model_cost(widths[name], h, w)
        out = {"macs_ratio": macs / base_macs, "params": params, "gmacs": macs / 1e9}
        if c.speed == "macs" and name != BASELINE:
            return {**out, "time_ratio": None, "time_ratio_ci_low": None, "time_ratio_ci_high": None}
        where = self.out / "bench" / name
        if not (where / results_layout.BENCH_CSV).is_file():
            run_bench(widths, where, device=torch_device(c.device), opts=SpeedConfig(), height=h, width=w, rounds=c.bench_rounds,
                      warmup=c.bench_warmup, matmul_size=256, progress=False, settings=f"search {c.name}")  # fmt: skip
        row = pd.read_csv(where / results_layout.BENCH_CSV).set_index("variant").loc[name]
        return {**out, "time_ratio": float(row.time_ratio), "time_ratio_ci_low": float(row.time_ratio_ci_low),
                "time_ratio_ci_high": float(row.time_ratio_ci_high)}  # fmt: skip

    # -- outputs -----------------------------------------------------------------------------------
    def trials_table(self) -> pd.DataFrame:
        front = {t.number for t in self.study.best_trials}
        rows = []
        for t in self.completed():
            a = t.user_attrs
            rows.append({"trial": t.number, "experiment": a["experiment"], "table2": a.get("table2", ""), "on_front": t.number in front,
                         **{g: t.params[g] for g in self.groups}, "val_max_f": t.values[0], "val_f_vs_base_pct": a.get("val_f_vs_base_pct"),
                         "time_ratio": a.get("time_ratio"), "time_ratio_ci_low": a.get("time_ratio_ci_low"),
                         "time_ratio_ci_high": a.get("time_ratio_ci_high"), "macs_ratio": a["macs_ratio"], "params": a["params"],
                         "seeds": len(a["val_f_seeds"])})  # fmt: skip
        return pd.DataFrame(rows)

    def write(self) -> dict:
        """trials.csv, front.csv, front.md, front.png and the front's experiment files."""
        from fcn_ablation.markdown import markdown_table

        df = self.trials_table()
        write_csv(df, self.out / results_layout.TRIALS_CSV)
        front = df[df.on_front].sort_values(self.cfg.speed + "_ratio")
        write_csv(front, self.out / results_layout.FRONT_CSV)
        files = self.write_experiments(front)
        answer = self.answer(df)
        dominated = self.dominated_table2(df)
        lines = [f"# Width search `{self.cfg.name}`", "",
                 f"{len(df)} trials; objectives: validation max F (mean over seeds {list(self.cfg.seeds)}) and the "
                 f"{'detection-time ratio (interleaved benchmark, random weights, ' if self.cfg.speed == 'time' else 'multiply-add ratio ('}"
                 f"width x{self.cfg.bench_width_multiplier:g} at {self.cfg.bench_width}x{self.cfg.bench_height}, this device) to the baseline. "
                 "F is trained at the trials' own width; time at the target scale: width does not change how time depends on the weights.", "",
                 f"Pareto front ({len(front)} of {len(df)} trials; `table2` names the Table 2 row a trial is):", "",
                 markdown_table(front, index=False), "",
                 f"Table 2 rows dominated by a front member: {dominated}.", ""]  # fmt: skip
        if answer is not None:
            lines.append(f"Fastest within {self.cfg.f_tolerance_pct:g} % of the baseline's validation F: **{answer['experiment']}** "
                         f"(val F {answer['val_f_vs_base_pct']:+.2f} %, {self.cfg.speed} ratio {answer[self.cfg.speed + '_ratio']:.3f}).")  # fmt: skip
        where = (
            ""
            if self.cfg.experiments_dir is None
            else f" (copy the experiment files from {self.cfg.experiments_dir} to conf/experiment/ first)"
        )
        lines += ["", f"Confirm on the test split, with more seeds, through the ordinary sweep{where}:", "", "```bash",
                  f"python -m fcn_ablation -m experiment=baseline,{','.join(front.experiment)} seed=0,1,2 {' '.join(self.cfg.train)} "
                  f"paths.results_dir={self.cfg.paths.results_dir}",
                  "```", ""]  # fmt: skip
        atomic_write_text(self.out / results_layout.FRONT_MD, "\n".join(lines))
        self.plot(df, self.out / results_layout.FRONT_PNG)
        summary = {"trials": len(df), "front": front.experiment.tolist(), "experiment_files": [str(f) for f in files],
                   "answer": answer, "table2_dominated": dominated}  # fmt: skip
        atomic_write_text(self.out / results_layout.SUMMARY_JSON, json.dumps(summary, indent=2, default=str))
        return summary

    def answer(self, df: pd.DataFrame) -> dict | None:
        within = df[df.val_f_vs_base_pct >= -self.cfg.f_tolerance_pct]
        within = within[within.experiment != f"search_{self.cfg.name}_full"]
        if within.empty:
            return None
        return within.sort_values(self.cfg.speed + "_ratio").iloc[0].to_dict()

    def dominated_table2(self, df: pd.DataFrame) -> str:
        col = self.cfg.speed + "_ratio"
        t2, front = df[df.table2 != ""], df[df.on_front & (df.table2 == "")]
        hit = [r.table2 for r in t2.itertuples() if any((f.val_max_f >= r.val_max_f and getattr(f, col) <= getattr(r, col))
               and (f.val_max_f > r.val_max_f or getattr(f, col) < getattr(r, col)) for f in front.itertuples())]  # fmt: skip
        return f"{len(hit)} of {len(t2)}" + (f" ({', '.join(hit)})" if hit else "")

    def write_experiments(self, front: pd.DataFrame) -> list[Path]:
        folder = Path(self.cfg.experiments_dir or Path(config_dir()) / "experiment")
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for r in front.itertuples():
            factors = layer_factors_of({g: getattr(r, g) for g in self.groups}, self.groups)
            path = folder / f"{r.experiment}.yaml"
            text = (f"# Written by fcn-ablation-search name={self.cfg.name} (trial {r.trial}): on its Pareto front.\n"
                    f"description: width search {self.cfg.name}, trial {r.trial} (val F {r.val_f_vs_base_pct:+.2f} %, "
                    f"{self.cfg.speed} ratio {getattr(r, self.cfg.speed + '_ratio'):.3f})\n"
                    f"factors: {json.dumps(factors)}\n")  # fmt: skip
            atomic_write_text(path, text)
            written.append(path)
        return written

    def plot(self, df: pd.DataFrame, path: Path) -> None:
        plt = pyplot()

        from fcn_ablation.store.paper import paper_table, paper_time_ratios

        col = self.cfg.speed + "_ratio"
        fig, ax = plt.subplots(figsize=(7, 4.5))
        ours = df[df.table2 == ""]
        ax.scatter(ours[col], ours.val_f_vs_base_pct, s=18, c="0.6", label="trials")
        front = df[df.on_front].sort_values(col)
        ax.plot(front[col], front.val_f_vs_base_pct, "-o", c="C0", ms=5, label="Pareto front")
        t2 = df[df.table2 != ""]
        ax.scatter(
            t2[col], t2.val_f_vs_base_pct, marker="s", c="C1", s=30, label="Table 2 rows (same budget, as trials)"
        )
        for r in t2.itertuples():
            ax.annotate(
                r.table2,
                (getattr(r, col), r.val_f_vs_base_pct),
                textcoords="offset points",
                xytext=(4, 3),
                fontsize=8,
                color="C1",
            )
        paper, _ = paper_table("msra10k")
        ratios = paper_time_ratios()
        pts = [
            (ratios.get(r.experiment), r.f_vs_base_pct)
            for r in paper.itertuples()
            if r.experiment in ratios and not pd.isna(r.f_vs_base_pct)
        ]
        if pts and self.cfg.speed == "time":
            ax.scatter(*zip(*pts), marker="x", c="C3", label="the paper (GTX 1080 Ti, MSRA10K test F)")
        ax.axhline(-self.cfg.f_tolerance_pct, ls=":", c="0.4", lw=1)
        ax.set_xlabel(
            f"{'detection-time' if self.cfg.speed == 'time' else 'multiply-add'} ratio to the baseline (lower is faster)"
        )
        ax.set_ylabel("validation max F vs baseline (%)")
        ax.set_title(f"Width search {self.cfg.name}")
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        save_figure(fig, path, dpi=120)
        plt.close(fig)
