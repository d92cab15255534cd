"""`circles facilities check`: the report, the rows not used and the clerk's problems table (--table)."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner
from openpyxl import load_workbook

from circles.cli import main


def _ledger(tmp_path, extra=()):
    rows = [
        {"名称": "五道口养老驿站", "类型": "养老驿站", "经度": 116.3376, "纬度": 39.9925},
        {"名称": "南山长者饭堂", "类型": "长者饭堂", "经度": 113.9430, "纬度": 22.5400},
        {"名称": "无坐标站", "类型": "养老驿站", "经度": "", "纬度": ""},
        *extra,
    ]
    path = tmp_path / "台账.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def test_check_prints_the_rows_not_used_and_writes_the_table(tmp_path):
    path = _ledger(tmp_path)
    table = tmp_path / "问题清单.xlsx"
    res = CliRunner().invoke(main, ["facilities", "check", "--facilities", str(path), "--table", str(table)])
    assert res.exit_code == 0, res.output
    assert "1 行未使用：第 4 行 坐标为空" in res.output
    assert f"问题清单已写入 {table}（1 行）" in res.output
    values = [[c.value for c in r] for r in load_workbook(table).active.iter_rows()]
    assert values[1][:3] == [4, "无坐标站", None] and "经纬度为空" in values[1][4]


def test_a_refused_ledger_still_gives_the_clerk_every_row_to_fix(tmp_path):
    path = _ledger(tmp_path, [
        {"名称": "甲", "类型": "养老驿栈", "经度": 116.30, "纬度": 39.99},
        {"名称": "乙", "类型": "卫生院", "经度": 116.31, "纬度": 39.99},
    ])
    table = tmp_path / "问题清单.csv"
    res = CliRunner().invoke(main, ["facilities", "check", "--facilities", str(path), "--table", str(table),
                                    "--lang", "en"])
    assert res.exit_code == 2
    error = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert len(error) == 1 and "2 unknown values: row 5: 类型 '养老驿栈' (closest known word: '养老驿站')" in error[0]
    assert "Traceback" not in res.output
    written = pd.read_csv(table, encoding="utf-8-sig")
    assert written["行号 row"].tolist() == [4, 5, 6]
    assert written["值 value"].tolist()[1:] == ["养老驿栈", "卫生院"]
    assert written["建议 suggestion"].tolist()[1] == "养老驿站"


def test_table_must_be_csv_or_xlsx(tmp_path):
    res = CliRunner().invoke(main, ["facilities", "check", "--facilities", str(_ledger(tmp_path)),
                                    "--table", str(tmp_path / "x.ods")])
    assert res.exit_code == 2 and "give a .csv or .xlsx file" in res.output
