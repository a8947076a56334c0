"""The ``techeval`` commands: the typer app, one small function per command, wiring only.

:func:`techeval.cli.main` runs the app and turns errors into exit codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from techeval import __version__
from techeval.errors import ArgumentError

app = typer.Typer(
    name="techeval",
    help="Evaluate special investigative techniques: conviction outcome, cost and harm.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"techeval {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """Evaluate special investigative techniques: conviction outcome, cost and harm."""


#: --no-cache, on every command that reads a case file
NoCacheOption = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="Parse a CSV file afresh, without reading or filling the per-user cache of "
        "parsed case files (see `techeval cache info`).",
    ),
]


# ---- commands -------------------------------------------------------------------------


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Case file to write (.csv or .parquet).")],
    n: Annotated[int, typer.Option("--n", help="Number of cases.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same bytes).")] = 0,
    truth: Annotated[
        Path | None, typer.Option("--truth", help="Where to write truth.json.")
    ] = None,
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario",
            help="default, no_effect, strong_confounding, or regions (--out is then a "
            "folder with one case file per region, --n cases each).",
        ),
    ] = "default",
) -> None:
    """Write synthetic case records whose true technique effects are known."""
    from techeval.simulate import generate_cases, generate_regions, write_cases, write_regions

    if scenario == "regions":
        regions = generate_regions(n, seed=seed)
        write_regions(regions, out)
        typer.echo(
            f"wrote {len(regions)} regions ({', '.join(regions)}) of {n:,} synthetic cases "
            f"each (seed {seed}) to {out}/<region>/cases.csv with truth.json, and "
            f"{out}/regions.json"
        )
        return

    synthetic = generate_cases(n, seed=seed, scenario=scenario)
    write_cases(synthetic, out, truth)
    also = f" and the truth to {truth}" if truth is not None else ""
    typer.echo(f"wrote {n:,} synthetic cases (scenario {scenario}, seed {seed}) to {out}{also}")


@app.command()
def validate(
    cases: Annotated[
        str,
        typer.Argument(
            help="Case file (.csv, .tsv, .parquet, .xlsx) or database URL (sqlite:///cases.db?table=cases)."
        ),
    ],
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            help="Map your column names onto canonical ones: 'CaseNo=case_id,Yr=year', or a .yaml/.json file holding that mapping.",
        ),
    ] = None,
    alias: Annotated[
        list[str] | None,
        typer.Option(
            "--alias",
            help="Extra technique label, e.g. 'phone tap=electronic_surveillance' (repeatable).",
        ),
    ] = None,
    set_aside: Annotated[
        Path | None,
        typer.Option(
            "--set-aside",
            help="Write the set-aside rows with their reasons to this .csv or .xlsx file.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a machine-readable summary instead.")
    ] = False,
    no_cache: NoCacheOption = False,
) -> None:
    """Check a case file against the canonical case record; list every row set aside and why.

    Exit code 0 when every row is usable, 2 when any row is set aside or the file is unusable.
    """
    from techeval.cases import load_cases
    from techeval.cases.cache import caching
    from techeval.cli.output import parse_mapping, print_validation

    with caching(not no_cache):
        report = load_cases(
            cases,
            columns=parse_mapping(columns, what="--columns"),
            aliases=parse_mapping(alias, what="--alias"),
        )
    if set_aside is not None:
        report.write_set_aside(set_aside)
    print_validation(report, console, as_json=as_json, set_aside_path=set_aside)
    if not report.ok:
        raise typer.Exit(2)


@app.command()
def effect(
    data: Annotated[
        str,
        typer.Argument(
            help="Table to analyse (.csv, .parquet, .xlsx or a database URL), one row per unit; case files are validated first."
        ),
    ],
    treatment: Annotated[str, typer.Option("--treatment", help="Boolean or 0/1 treatment column.")],
    outcome: Annotated[
        str, typer.Option("--outcome", help="Outcome column (binary, count or continuous).")
    ],
    covariates: Annotated[
        str,
        typer.Option(
            "--covariates", help="Comma-separated covariate columns (text is categorical)."
        ),
    ] = "",
    estimand: Annotated[str, typer.Option("--estimand", help="ATE or ATT.")] = "ATE",
    method: Annotated[
        str, typer.Option("--method", help="aipw, ipw, regression, naive or a registered name.")
    ] = "aipw",
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the primary result row as JSON.")
    ] = False,
    no_cache: NoCacheOption = False,
) -> None:
    """Adjusted effect of a binary treatment on an outcome in any table."""
    import json

    from techeval.cases import read_data
    from techeval.cases.cache import caching
    from techeval.effect import make_estimator
    from techeval.results import canonical_value, results_frame

    names = [c.strip() for c in covariates.split(",") if c.strip()]
    estimator = make_estimator(method, estimand=estimand, random_state=seed)
    with caching(not no_cache):
        frame, notes = read_data(data)
    results = estimator.fit(frame, treatment=treatment, outcome=outcome, covariates=names).results_
    if as_json:
        typer.echo(json.dumps(canonical_value(results[0].to_dict()), indent=2, ensure_ascii=False))
        return
    for note in notes:
        console.print(f"note: {note}", highlight=False)
    table = Table(title=f"Effect of {treatment} on {outcome} ({estimand}, {method})")
    for column in ("scale", "estimate (95% CI)", "p-value", "treated", "control"):
        table.add_column(column, justify="left" if column == "scale" else "right")
    for row in results_frame(results).itertuples(index=False):
        table.add_row(
            row.scale,
            f"{row.estimate:.3g} ({row.ci_low:.3g} to {row.ci_high:.3g})",
            f"{row.p_value:.2g}",
            f"{row.n_treated:,}",
            f"{row.n_control:,}",
        )
    console.print(table)
    for warning in results[0].warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)


@app.command()
def estimators() -> None:
    """List the registered estimators (built-in and plug-ins) with their one-line docs."""
    from techeval.estimators.registry import available_estimators, summary_line

    table = Table(title="techeval estimators")
    table.add_column("name", no_wrap=True)
    table.add_column("description")
    for name, cls in available_estimators().items():
        table.add_row(name, summary_line(cls))
    console.print(table)


@app.command()
def run(
    protocol: Annotated[
        str, typer.Argument(help="Protocol file, or a shipped protocol's name (standard-v1).")
    ],
    cases: Annotated[
        str, typer.Option("--cases", help="Case file (.csv, .parquet, .xlsx) or database URL.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the results into.")],
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed (default: the protocol's).")
    ] = None,
    formats: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Comma-separated: json, html, md, pdf (default: the protocol's report.formats; "
            "result.json is always written).",
        ),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="local (joblib processes), dask (a local dask cluster) or "
            "dask:tcp://HOST:PORT (an existing cluster); default: the protocol's "
            "inference.backend. Results are the same on every back-end.",
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the contents of a non-empty --out.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar or summary.")] = False,
    no_cache: NoCacheOption = False,
) -> None:
    """Run a standard protocol on a case file and write result.json, results.csv and run.log.

    Exit code 0 when the run completes, 2 for a bad protocol, case file or option.
    """
    from techeval._files import check_output_folder
    from techeval.cases.cache import caching
    from techeval.cli.progress import StepProgress
    from techeval.protocols.execute import check_backend
    from techeval.protocols.model import load_protocol
    from techeval.protocols.run import run_protocol, write_outputs
    from techeval.protocols.write import check_formats

    loaded = load_protocol(protocol)
    chosen = check_formats(formats.split(",") if formats else loaded.protocol.report.formats)
    backend = check_backend(backend or loaded.protocol.inference.backend)
    check_output_folder(out, overwrite=overwrite)
    render = None
    if any(f != "json" for f in chosen):
        from techeval.report import render_folder as render
    # one bar per step (validation, estimation, synthesis, rendering) on standard error
    with StepProgress(err_console, quiet=quiet) as show, caching(not no_cache):
        outcome = run_protocol(loaded, cases, seed=seed, backend=backend, progress=show)
        folder = write_outputs(
            outcome, out, overwrite=overwrite, formats=chosen, progress=show, render=render
        )
    if quiet:
        return
    data = outcome.document["data"]
    console.print(
        f"{loaded.protocol.name} {loaded.protocol.version}: rows in {data['rows_in']:,} = used "
        f"{data['rows_used']:,} + set aside {data['rows_set_aside']:,}; "
        f"{len(outcome.document['results']):,} results in {outcome.elapsed:.1f} s",
        highlight=False,
    )
    for technique, grade in outcome.document["grades"].items():
        console.print(
            f"  {technique.replace('_', ' ')}: evidence {grade['grade']}", highlight=False
        )
    for warning in outcome.document["warnings"]:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    written = ["result.json"] + [
        name for name in ("report.html", "report.md", "report.pdf") if (folder / name).exists()
    ]
    console.print(f"written to {folder}/: {', '.join(written)}", highlight=False)


@app.command()
def report(
    folder: Annotated[
        Path, typer.Argument(help="A folder written by `techeval run` (it holds result.json).")
    ],
    formats: Annotated[
        str, typer.Option("--format", help="Comma-separated: html, md, pdf.")
    ] = "html,md,pdf",
) -> None:
    """Render the reports again from an existing result.json, without re-estimating.

    Exit code 0 when written, 2 when the folder holds no result file or a format is unknown.
    """
    from techeval.protocols.write import check_formats
    from techeval.report import rerender

    chosen = [f for f in check_formats(formats.split(",")) if f != "json"]
    if not chosen:
        raise ArgumentError("no report format asked for", hint="Use --format html,md,pdf")
    written = rerender(folder, chosen)
    console.print(
        f"written to {folder}/: {', '.join(p.name for p in written if p.parent == folder)}",
        highlight=False,
    )


@app.command()
def pool(
    results: Annotated[
        list[Path], typer.Argument(help="result.json files (or their folders), one per region.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the pooled results into.")],
    label: Annotated[
        list[str] | None,
        typer.Option("--label", help="Region label per file, in order (default: folder name)."),
    ] = None,
    tau2: Annotated[
        str, typer.Option("--tau2", help="Between-region variance: reml, dl or pm.")
    ] = "reml",
    hartung_knapp: Annotated[
        bool,
        typer.Option("--hartung-knapp", help="Hartung–Knapp intervals (safer with few regions)."),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the contents of a non-empty --out.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No summary.")] = False,
) -> None:
    """Pool result files from several regions by random-effects meta-analysis.

    Writes pooled.json, pooled.csv, the report (pooled.html, .pdf, .md) and forest plots.
    Reads result files only.
    """
    from techeval.pooling.output import pooled_files, write_folder
    from techeval.pooling.pool import pool_files
    from techeval.report.pooled import summary_lines

    document = pool_files(results, labels=label, tau2_method=tau2, hartung_knapp=hartung_knapp)
    folder = write_folder(pooled_files(document), out, overwrite=overwrite)
    if not quiet:
        for line in summary_lines(document):
            console.print(line, highlight=False)
        console.print(f"written to {folder}/pooled.json", highlight=False)


@app.command()
def trend(
    results: Annotated[
        list[Path], typer.Argument(help="result.json files (or their folders), one per period.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the trend results into.")],
    period: Annotated[
        list[str] | None,
        typer.Option("--period", help="Period per file, in order: a year or span (2015-2018)."),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option("--protocol", help="Protocol stating the planned figures (plan vs actual)."),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", help="Flag departures from plan beyond this share (0.25)."),
    ] = None,
    hartung_knapp: Annotated[
        bool, typer.Option("--hartung-knapp", help="Knapp–Hartung test of the trend.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the contents of a non-empty --out.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No summary.")] = False,
) -> None:
    """Order result files by period, plot each measure over time and test for change.

    With --protocol, flag where the actual departs from the protocol's planned figures.
    Writes trend.json, trend.csv, the report (trend.html, .pdf, .md) and trend plots.
    Reads result files only.
    """
    from techeval.pooling.output import trend_files, write_folder
    from techeval.pooling.trend import trend_from_files
    from techeval.report.trend import trend_summary_lines

    document = trend_from_files(
        results,
        periods=period,
        protocol=protocol,
        threshold=threshold,
        hartung_knapp=hartung_knapp,
    )
    folder = write_folder(trend_files(document), out, overwrite=overwrite)
    if not quiet:
        for line in trend_summary_lines(document):
            console.print(line, highlight=False)
        console.print(f"written to {folder}/trend.json", highlight=False)


protocols_app = typer.Typer(
    help="List the shipped protocols, or show one with its hash.", no_args_is_help=False
)
app.add_typer(protocols_app, name="protocols")


@protocols_app.callback(invoke_without_command=True)
def protocols(ctx: typer.Context) -> None:
    """List the shipped protocols (name, version, description, sha256)."""
    if ctx.invoked_subcommand is not None:
        return
    from techeval.protocols.model import list_protocols, load_protocol

    table = Table(title="techeval protocols")
    for column in ("name", "version", "description", "sha256"):
        table.add_column(column, no_wrap=column != "description")
    for path in list_protocols():
        loaded = load_protocol(path, check_estimators=False)
        table.add_row(
            path.stem, loaded.protocol.version, loaded.protocol.description, loaded.sha256[:12]
        )
    console.print(table)


@protocols_app.command("show")
def protocols_show(
    name: Annotated[str, typer.Argument(help="Shipped protocol name (quick-v1) or a path.")],
) -> None:
    """Print one protocol as written, with its SHA-256 hash."""
    from techeval.protocols.model import load_protocol

    loaded = load_protocol(name, check_estimators=False)
    typer.echo(f"# {loaded.path}\n# sha256 {loaded.sha256}")
    typer.echo(loaded.text, nl=not loaded.text.endswith("\n"))


cache_app = typer.Typer(
    help="The per-user cache of parsed CSV case files: where it is, what it holds.",
    no_args_is_help=True,
)
app.add_typer(cache_app, name="cache")


@cache_app.command("info")
def cache_info() -> None:
    """Show where the cache is, how many case files it holds and their size."""
    from techeval.cases.cache import cache_info as describe

    for line in describe().lines():
        typer.echo(line)


@cache_app.command("clear")
def cache_clear() -> None:
    """Delete every cached case table (the CSV files themselves are untouched)."""
    from techeval.cases.cache import cache_location, clear_cache

    folder, status = cache_location()
    if folder is None:
        typer.echo(f"no cache of parsed CSV files: {status}")
        return
    removed, freed = clear_cache()
    typer.echo(f"removed {removed} cached case tables ({freed / 1024**2:,.1f} MB) from {folder}")
