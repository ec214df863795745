"""User dataset files, field mappings, predictions files: good rows load, bad rows name their line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archon_cli.cli.app import main
from archon_cli.errors import DatasetError
from archon_cli.tasks.files import load_file, parse_field_mapping
from archon_cli.tasks.loading import load_task
from archon_cli.tasks.predictions import read_predictions


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_with_mapping(tmp_path: Path) -> None:
    f = write(tmp_path / "qa.jsonl", [json.dumps({"question": "2+2?", "answer": 4, "topic": "math"}),
                                      "", json.dumps({"question": "Capital of France?", "answer": "Paris"})])
    examples = load_file(f, parse_field_mapping(["input=question", "reference=answer"]))
    assert [(e.id, e.input, e.reference) for e in examples] == [
        ("qa-1", "2+2?", "4"), ("qa-3", "Capital of France?", "Paris")]
    assert examples[0].meta == {"topic": "math"}


def test_csv_with_choices_and_default_scorer(tmp_path: Path) -> None:
    f = write(tmp_path / "mc.csv", ["id,input,reference,choices", "q1,Pick one,B,red|green|blue"])
    examples, scorer = load_task(str(f), "choice")
    assert examples[0].choices == ("red", "green", "blue") and scorer.name == "choice"
    _, default = load_task(str(f), None)
    assert default.name == "choice"  # rows carry choices (issue 12: was `normalized`)
    plain = write(tmp_path / "plain.csv", ["id,input,reference", "q1,Capital of France?,Paris"])
    assert load_task(str(plain), None)[1].name == "normalized"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"input": "ok"}', '{"input": "broken'], "bad.jsonl:2: not valid JSON"),
        (['{"input": "ok"}', '["a list"]'], "bad.jsonl:2: expected a JSON object"),
        (['{"input": "ok"}', '{"question": "x"}'], "bad.jsonl:2: 'input' must be a non-empty string"),
        (['{"input": "ok", "id": 1}', '{"input": "again", "id": 1}'], "bad.jsonl:2: duplicate id '1'"),
        (['{"input": "ok", "reference": [1]}'], "bad.jsonl:1: 'reference' must be a string"),
        (['{"input": "ok", "choices": 3}'], "bad.jsonl:1: choices must be a list"),
    ],
)
def test_bad_jsonl_rows_name_the_line(tmp_path: Path, lines: list[str], message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        load_file(write(tmp_path / "bad.jsonl", lines))


def test_bad_csv_row_and_mapping_errors(tmp_path: Path) -> None:
    f = write(tmp_path / "bad.csv", ["input,reference", "a,1", "b,2,extra"])
    with pytest.raises(DatasetError, match=r"bad\.csv:3: more values than header"):
        load_file(f)
    with pytest.raises(DatasetError, match=r"column 'question' .*missing"):
        load_file(f, {"input": "question"})
    with pytest.raises(DatasetError, match="unknown field 'prompt'"):
        parse_field_mapping(["prompt=question"])
    with pytest.raises(DatasetError, match="expected FIELD=COLUMN"):
        parse_field_mapping(["input"])
    with pytest.raises(DatasetError, match="unsupported dataset file type"):
        load_file(write(tmp_path / "data.txt", ["x"]))


def test_predictions_errors_name_the_line(tmp_path: Path) -> None:
    ids = {"a", "b"}
    ok = write(tmp_path / "p.jsonl", ['{"id": "a", "output": "x"}', '{"id": "b", "output": null}'])
    assert read_predictions(ok, ids) == {"a": "x", "b": None}
    cases = {"not valid JSON": ['{"id": "a", "output": "x"}', "{oops"],
             "expected an object with 'id' and 'output'": ['{"id": "a"}'],
             "id 'zz' is not in the dataset": ['{"id": "zz", "output": "x"}'],
             "duplicate id 'a'": ['{"id": "a", "output": "x"}', '{"id": "a", "output": "y"}']}
    for message, lines in cases.items():
        with pytest.raises(DatasetError, match=message):
            read_predictions(write(tmp_path / "bad.jsonl", lines), ids)


def test_score_command_on_a_user_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write(tmp_path / "qa.jsonl", [json.dumps({"q": f"{i}+{i}?", "a": str(2 * i), "id": str(i)})
                                         for i in range(4)])
    preds = write(tmp_path / "preds.jsonl", [json.dumps({"id": str(i), "output": f"It is {2 * i if i < 3 else 0}"})
                                            for i in range(4)])
    assert main(["score", str(data), "-p", str(preds), "--field", "input=q", "--field", "reference=a",
                 "--scorer", "numeric"]) == 0
    assert "accuracy 0.750" in capsys.readouterr().out
    bad = write(tmp_path / "bad.jsonl", ['{"id": "0", "output": "1"}', "not json"])
    assert main(["score", str(data), "-p", str(bad), "--field", "input=q"]) == 2
    assert "bad.jsonl:2" in capsys.readouterr().err


def test_non_utf8_bytes_name_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "latin1.jsonl"
    f.write_bytes(b'{"input": "ok"}\n{"input": "caf\xe9"}\n')
    with pytest.raises(DatasetError, match=r"latin1\.jsonl:2: not UTF-8 text \(byte 0xe9 at column 15\)"):
        load_file(f)
    g = tmp_path / "latin1.csv"
    g.write_bytes(b"input,reference\nok,1\ncaf\xe9,2\n")
    with pytest.raises(DatasetError, match=r"latin1\.csv:3: not UTF-8"):
        load_file(g)


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    f = tmp_path / "bom.csv"
    f.write_bytes(b"\xef\xbb\xbfinput,reference\nq,a\n")
    assert load_file(f)[0].input == "q"


def test_unterminated_csv_quote_is_an_error_not_one_giant_field(tmp_path: Path) -> None:
    f = write(tmp_path / "quote.csv", ["input,reference", "a,1", '"b is never closed,2', "c,3"])
    with pytest.raises(DatasetError, match=r"quote\.csv:\d+: not valid CSV"):
        load_file(f)


def test_unterminated_quote_through_the_cli_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path / "quote.csv", ["input,reference", '"never closed,1'])
    pipe = tmp_path / "p.yaml"
    pipe.write_text("models: {m: {model: fake/x}}\nlayers: [[{type: generator, model: m}]]\n")
    assert main(["eval", str(pipe), "--dataset", str(f)]) == 2
    err = capsys.readouterr().err
    assert "quote.csv" in err and "not valid CSV" in err and "Traceback" not in err


def test_oversized_csv_field_names_the_line(tmp_path: Path) -> None:
    f = write(tmp_path / "big.csv", ["input,reference", "a,1", "x" * 200_000 + ",2"])
    with pytest.raises(DatasetError, match=r"big\.csv:\d+: not valid CSV \(field larger than field limit"):
        load_file(f)


def test_oversized_file_is_refused_without_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archon_cli.tasks import files

    f = write(tmp_path / "many.jsonl", [json.dumps({"input": f"q{i}"}) for i in range(100)])
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1000)
    with pytest.raises(DatasetError, match=r"many\.jsonl: .*--limit"):
        load_file(f)
    assert len(load_file(f, limit=5)) == 5  # with a limit only what is needed is read


def test_limit_stops_reading_early(tmp_path: Path) -> None:
    """100k lines, the last one broken: `--limit 5` reads 5 and never reaches it."""
    lines = [json.dumps({"input": f"q{i}", "reference": str(i)}) for i in range(100_000)] + ["{broken"]
    f = write(tmp_path / "big.jsonl", lines)
    examples, _ = load_task(str(f), None, limit=5)
    assert [e.input for e in examples] == ["q0", "q1", "q2", "q3", "q4"]
    with pytest.raises(DatasetError, match=r"big\.jsonl:100001: not valid JSON"):
        load_file(f)
