"""Write the facility-ledger templates (run once after changing them; the outputs are committed).

    /work/venv/bin/python circles/data/templates/make_templates.py

Writes ``facilities_template.csv`` (UTF-8 with BOM, so Excel shows the Chinese headers) and
``facilities_template.xlsx`` (first sheet: the ledger with drop-down suggestions; second sheet:
how to fill it in). The three example rows have names starting with "示例：": `circles` skips them
with a warning, so a template filled in below them still reads.
"""

from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent

HEADERS = ["名称", "类型", "层级", "经度", "纬度", "容量", "建筑面积", "所属街道", "地址", "备注"]
# Fictitious facilities near Wudaokou, Haidian, Beijing; coordinates as Amap gives them (GCJ-02).
EXAMPLES = [
    ["示例：学院路街道综合养老服务中心", "养老服务设施", "街道/乡镇综合养老服务中心", 116.35034, 39.99672,
     60, 1800, "学院路街道", "北京市海淀区学院路XX号", "示例行，填写前请删除"],
    ["示例：五道口老年助餐点", "老年助餐服务", "老年助餐点", 116.34374, 39.99893,
     40, 120, "东升镇", "北京市海淀区成府路XX号", "示例行，填写前请删除"],
    ["示例：清华园社区儿童之家", "未成年人保护服务", "儿童之家", 116.33426, 40.00516,
     "", 80, "清华园街道", "北京市海淀区中关村北大街XX号", "示例行，填写前请删除"],
]
CATEGORY_CHOICES = ["养老服务设施", "老年助餐服务", "未成年人保护服务"]
TIER_CHOICES = [
    "街道/乡镇综合养老服务中心", "社区养老服务站", "日间照料中心", "老年助餐点", "未成年人保护工作站", "儿童之家",
]
NOTES = [
    ("列 Column", "必填 Required", "说明 Meaning"),
    ("名称 name", "是 yes", "设施名称 / facility name"),
    ("类型 category", "是 yes", "养老服务设施、老年助餐服务、未成年人保护服务，或层级名称（如 日间照料中心）/ "
                                "category id, label or tier label of the profile"),
    ("层级 tier", "否 no", "街道/乡镇综合养老服务中心、社区养老服务站、老年助餐点、未成年人保护工作站、儿童之家 / tier"),
    ("经度 lon", "是 yes", "经度（十进制度），如 116.35034 / longitude in decimal degrees"),
    ("纬度 lat", "是 yes", "纬度（十进制度），如 39.99672 / latitude in decimal degrees"),
    ("容量 capacity", "否 no", "床位数或餐位数 / beds or meal seats"),
    ("建筑面积 area_m2", "否 no", "建筑面积（平方米）/ floor area in m²"),
    ("所属街道 district", "否 no", "所属街道（乡镇）/ street or township"),
    ("地址 address", "否 no", "地址 / address"),
    ("备注 note", "否 no", "不读取 / not read"),
    ("", "", ""),
    ("坐标系 Coordinates", "", "高德/腾讯 = GCJ-02（--coords gcj02）；百度 = BD-09（--coords bd09）；"
                               "GPS/OpenStreetMap/天地图 = WGS84（默认）/ Amap/Tencent = GCJ-02, Baidu = BD-09, "
                               "GPS/OSM/Tianditu = WGS84 (default)"),
    ("示例行 Examples", "", "名称以“示例：”开头的行会被跳过；请删除 / rows whose name starts with 示例： are skipped"),
]


def write_csv(path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(HEADERS)
        writer.writerows(EXAMPLES)


def write_xlsx(path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "设施台账"
    ws.append(HEADERS)
    for row in EXAMPLES:
        ws.append(row)
    bold = Font(bold=True)
    required = PatternFill("solid", fgColor="FFF2CC")
    for cell in ws[1]:
        cell.font = bold
        cell.alignment = Alignment(horizontal="center")
        if cell.value in ("名称", "类型", "经度", "纬度"):
            cell.fill = required
    grey = Font(color="808080", italic=True)
    for row in ws.iter_rows(min_row=2, max_row=1 + len(EXAMPLES)):
        for cell in row:
            cell.font = grey
    for col, width in zip("ABCDEFGHIJ", (36, 18, 28, 12, 12, 8, 10, 14, 34, 22)):
        ws.column_dimensions[col].width = width
    for col in ("D", "E"):
        for row in range(2, 1001):
            ws[f"{col}{row}"].number_format = "0.000000"
    ws.freeze_panes = "A2"
    # Drop-down suggestions only: other spellings (aliases) are accepted too.
    for col, choices in (("B", CATEGORY_CHOICES), ("C", TIER_CHOICES)):
        dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True,
                            showErrorMessage=False)
        dv.add(f"{col}2:{col}1000")
        ws.add_data_validation(dv)
    notes = wb.create_sheet("填写说明")
    for row in NOTES:
        notes.append(row)
    for cell in notes[1]:
        cell.font = bold
    for col, width in zip("ABC", (22, 14, 100)):
        notes.column_dimensions[col].width = width
    wb.save(path)


if __name__ == "__main__":
    write_csv(HERE / "facilities_template.csv")
    write_xlsx(HERE / "facilities_template.xlsx")
    print("wrote", HERE / "facilities_template.csv", "and", HERE / "facilities_template.xlsx")
