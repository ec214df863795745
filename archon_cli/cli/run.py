"""`archon run PIPELINE`: answer prompts with a pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from archon_cli.cli.output import console, usage_line
from archon_cli.cli.trace_view import TRACE_FILE_HELP, TRACE_HELP, render_trace, write_trace
from archon_cli.components.state import ExampleInput
from archon_cli.components.validate import load_pipeline
from archon_cli.errors import ConfigError, EvaluationFailed
from archon_cli.evaluate import all_failed_message
from archon_cli.llm.session import open_client
from archon_cli.llm.usage import Usage
from archon_cli.pipeline import Pipeline
from archon_cli.tasks.files import jsonl_objects
from archon_cli.trace import TraceRecorder

if TYPE_CHECKING:
    from archon_cli.components.state import ExampleInput


def register(app: typer.Typer) -> None:
    app.command()(run)


def run(
    pipeline: Path = typer.Argument(..., help="a pipeline YAML"),
    prompt: str | None = typer.Option(None, "--prompt", "-p", help="one prompt to answer"),
    input: Path | None = typer.Option(None, "--input", "-i", help="JSONL file, one {\"prompt\": ...} per line"),
    no_cache: bool = typer.Option(False, "--no-cache", help="call the engines even for cached requests"),
    trace: bool = typer.Option(False, "--trace", help=TRACE_HELP),
    trace_file: Path | None = typer.Option(None, "--trace-file", help=TRACE_FILE_HELP),
) -> None:
    """Answer a prompt (or a JSONL file of prompts) with a pipeline."""
    if (prompt is None) == (input is None):
        raise ConfigError("give exactly one of --prompt TEXT or --input FILE.jsonl")
    spec = load_pipeline(pipeline)
    if input is not None:
        examples = _read_prompts(input)
    else:
        assert prompt is not None
        examples = [ExampleInput.from_prompt("prompt", prompt)]
    recorder = TraceRecorder() if trace or trace_file is not None else None
    with open_client(spec.models, use_cache=not no_cache) as client:
        results = Pipeline(spec).run(examples, client, tracer=recorder)
    if recorder is not None:
        records = recorder.records([ex.id for ex in examples])
        if trace:
            typer.echo(render_trace(records), err=True, nl=False)
        if trace_file is not None:
            write_trace(trace_file, records)
    out, err = console(), console(stderr=True)
    total = Usage()
    for res in results:  # answers on stdout, failures on stderr: a pipe gets answers only
        total.merge(res.usage)
        if res.output is None:
            err.print(f"failed: {res.error}" if input is None else f"{res.id}: failed: {res.error}", style="red")
        elif input is None:
            out.print(res.output)
        else:
            print(json.dumps({"id": res.id, "output": res.output}, ensure_ascii=False))
    err.print(usage_line(total))
    if results and all(r.output is None for r in results):
        raise EvaluationFailed(all_failed_message([r.error for r in results], "prompt"))
    if any(r.output is None for r in results):
        raise typer.Exit(1)


def _read_prompts(path: Path) -> list[ExampleInput]:
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    examples = []
    for n, row in jsonl_objects(path):
        text = row.get("prompt")
        if not isinstance(text, str):
            raise ConfigError(f"{path}:{n}: each line needs a string field 'prompt'")
        examples.append(ExampleInput.from_prompt(str(row.get("id", n)), text, row.get("system")))
    if not examples:
        raise ConfigError(f"{path}: no prompts")
    return examples
