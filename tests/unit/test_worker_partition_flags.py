"""`article-mcp worker --priority --folder`: what each flag accepts, and the rule named when
it refuses a value (argparse exits 2 with the message)."""

from __future__ import annotations

import pytest

from article_mcp.cli.main import build_parser
from article_mcp.queue.tasks import EVERYTHING, PRIORITIES, Partition


def parsed(*flags: str) -> Partition:
    args = build_parser().parse_args(["worker", *flags])
    return Partition(priorities=args.priority, folder=args.folder)


def test_without_flags_a_worker_takes_everything() -> None:
    assert parsed() == EVERYTHING and parsed().everything
    assert str(parsed()) == "every task"


@pytest.mark.parametrize(
    ("value", "priorities"),
    [("high", ("high",)), ("low, high", ("high", "low")), ("normal,normal", ("normal",))],
)
def test_priorities_are_one_or_a_comma_list_in_priority_order(
    value: str, priorities: tuple[str, ...]
) -> None:
    assert parsed("--priority", value).priorities == priorities


def test_a_partition_names_itself() -> None:
    partition = parsed("--priority", "high,normal", "--folder", "guides/python")
    assert not partition.everything
    assert str(partition) == "priority high,normal; folder guides/python"
    assert parsed("--priority", ",".join(PRIORITIES)).everything


@pytest.mark.parametrize(
    ("flags", "rule"),
    [
        (["--priority", "urgent"], "must be high, normal, low, or a comma list"),
        (["--priority", ""], "must be high, normal, low, or a comma list"),
        (["--priority", "high,"], "must be high, normal, low, or a comma list"),
        (["--folder", ""], "must name a folder"),
        (["--folder", "guides/../x"], "must not contain empty, '.' or '..' parts"),
        (["--folder", "/guides"], "must not start or end with '/'"),
    ],
)
def test_bad_values_are_refused_naming_the_flag_and_the_rule(
    flags: list[str], rule: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["worker", *flags])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {flags[0]}: " in error and rule in error
