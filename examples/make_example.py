"""Regenerate the bundled example month (examples/2026-09/) deterministically.

Two teams of customer-service agents with plausible figures; the qualities
below are chosen so that the month lands agents in every pay band. Run:

    python examples/make_example.py
"""

from __future__ import annotations

import csv
import random
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import xlsxwriter

PERIOD = "2026-09"
HERE = Path(__file__).resolve().parent / PERIOD
HEADERS = ["工号", "姓名", "组别", "级别", "销售目标", "实际销售额", "上月销售额", "访问量(询单人数)",
           "成交量(成交人数)", "主推单品目标", "主推单品实际", "个人订单量", "退单量", "咨询应答量",
           "交易纠纷(因服务态度)", "应答时效", "服务规范", "销售技巧", "产品知识考试", "岗位实操考试", "工作总结"]
QUALITATIVE_MAX = (8, 8, 7, 5, 4, 3)
TEAMS = {
    "售前一组": ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵敏", "黄磊", "周婷", "吴昊", "徐丽", "孙悦", "马超"],
    "售前二组": ["朱琳", "胡军", "郭靖", "何雪", "高翔", "林晓", "罗丹", "郑爽", "梁宇", "谢娟", "宋佳", "唐宁"],
}
# One quality (0..1) per agent, in roster order: drives every figure below.
QUALITIES = [0.98, 0.9, 0.78, 0.72, 0.66, 0.6, 0.52, 0.45, 0.3, 0.1, 0.85, 0.55, 0.7,
             1.0, 0.88, 0.75, 0.68, 0.62, 0.58, 0.5, 0.4, 0.22, 0.0, 0.8, 0.64]
LEVELS = ["P2", "P1", "P3", "P2", "P4", "P3", "P2", "P5", "P1", "P3", "P2"]


def quantize(value: float, step: str = "1") -> Decimal:
    return Decimal(str(value)).quantize(Decimal(step), rounding=ROUND_HALF_UP)


def half_points(maximum: int, quality: float, rng: random.Random) -> Decimal:
    raw = maximum * min(1.0, max(0.0, 0.22 + 0.78 * quality + rng.uniform(-0.08, 0.08)))
    return (Decimal(str(raw)) * 2).to_integral_value() / 2


def agent_row(number: int, name: str, team: str, quality: float, rng: random.Random) -> list:
    target = quantize(rng.randrange(80, 200) * 1000)
    actual = quantize(float(target) * (0.5 + 0.72 * quality + rng.uniform(-0.05, 0.05)), "0.01")
    growth = -0.5 + 0.85 * quality + rng.uniform(-0.05, 0.05)
    last = "" if number % 9 == 4 else quantize(float(actual) / (1 + growth), "0.01")
    visits = rng.randrange(2000, 6000)
    deals = int(visits * (0.002 + 0.02 * quality))
    featured_target = rng.randrange(100, 300)
    featured_actual = int(featured_target * (0.6 + 0.55 * quality))
    orders = int(deals * rng.uniform(1.0, 1.3)) + int(60 * quality)
    refunds = int(orders * max(0.0, 0.022 - 0.02 * quality))
    inquiries = int(450 * (0.15 + 1.0 * quality))
    disputes = 0 if quality > 0.35 else (2 if quality < 0.1 else 1)
    judged = [half_points(m, quality, rng) for m in QUALITATIVE_MAX]
    level = LEVELS[number % len(LEVELS)]
    return [f"KF{1000 + number}", name, team, level, target, actual, last, visits, deals, featured_target,
            featured_actual, orders, refunds, inquiries, disputes, *judged]


def rows() -> list[list]:
    rng = random.Random(202609)
    roster = [(name, team) for team, names in TEAMS.items() for name in names]
    return [agent_row(i + 1, name, team, q, rng) for i, ((name, team), q) in enumerate(zip(roster, QUALITIES))]


def write_xlsx(path: Path, data: list[list]) -> None:
    workbook = xlsxwriter.Workbook(str(path))
    workbook.set_properties({"title": f"客服人员绩效考核表 {PERIOD}", "author": "kpi example"})
    sheet = workbook.add_worksheet("填报表")
    bold = workbook.add_format({"bold": True, "text_wrap": True, "bg_color": "#DDEBF7", "border": 1})
    sheet.write_row(0, 0, HEADERS, bold)
    for r, row in enumerate(data, start=1):
        for c, value in enumerate(row):
            if isinstance(value, (int, Decimal)):
                sheet.write_number(r, c, float(value))
            else:
                sheet.write_string(r, c, str(value)) if value != "" else sheet.write_blank(r, c, None)
    sheet.set_column(0, len(HEADERS) - 1, 11)
    sheet.freeze_panes(1, 2)
    workbook.close()


def write_csv(path: Path, data: list[list]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(data)


if __name__ == "__main__":
    HERE.mkdir(parents=True, exist_ok=True)
    data = rows()
    write_xlsx(HERE / f"input-{PERIOD}.xlsx", data)
    write_csv(HERE / f"input-{PERIOD}.csv", data)
    print(f"wrote {len(data)} agents to {HERE}")
