"""Report files: CSV tables and one printable A4 page (PNG and PDF) with charts.

Matplotlib's object API (Figure + savefig) without pyplot: no global state, no GUI
backend, safe in a server or a test. Chinese labels use WenQuanYi Micro Hei (the
font ./qms setup installs); without it the page says so in the log, not in tofu.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from matplotlib import font_manager
from matplotlib.figure import Figure

from .figures import ALL, LEVELS, HourRow, Report, Row

log = logging.getLogger(__name__)

FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
)
FONT_NAME = "WenQuanYi Micro Hei"
LEVEL_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
LEVEL_COLOURS = {5: "#1a9850", 4: "#91cf60", 3: "#fee08b", 2: "#fc8d59", 1: "#d73027"}


def write_csv(report: Report, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []

    def table(name: str, fields: tuple[str, ...], rows: list[dict]) -> None:
        path = out / name
        # utf-8-sig: Excel on a supervisor's PC opens Chinese names correctly
        with open(path, "w", newline="", encoding="utf-8-sig") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            w.writerows(rows)
        files.append(path)

    table("by_day.csv", Row.CSV_FIELDS, [r.csv() for r in report.days])
    table("by_service.csv", Row.CSV_FIELDS, [r.csv() for r in report.services])
    table("by_counter.csv", Row.CSV_FIELDS, [r.csv() for r in report.counters])
    table("by_hour.csv", ("day", "hour", "issued", "called", "served", "wait_avg_min"),
          [{**vars(h), "wait_avg_min": "" if h.wait_avg_min is None else h.wait_avg_min}
           for h in report.hours])
    table("follow_ups.csv", ("day", "number", "counter", "level", "reason", "rated_at", "due",
                             "handled_at", "state"), report.follow_ups)
    return files


def chinese_font() -> str | None:
    for f in FONT_FILES:
        if Path(f).is_file():
            font_manager.fontManager.addfont(f)
            return FONT_NAME
    log.warning("WenQuanYi Micro Hei not found (%s): Chinese labels will not render",
                FONT_FILES[0])
    return None


def _fmt(v: float | None, unit: str = "") -> str:
    return "—" if v is None else f"{v:g}{unit}"


def _key_figures(r: Row, sla: float) -> list[tuple[str, str]]:
    share = "—" if r.over_sla_share is None else f"{r.over_sla_share * 100:.1f}%"
    return [
        ("取号", str(r.issued or 0)), ("办结", str(r.served)), ("过号", str(r.no_show)),
        ("转办", str(r.transferred)), ("未办结", str(r.still_open)),
        ("平均等候", _fmt(r.wait_avg_min, " 分")), ("90%等候", _fmt(r.wait_p90_min, " 分")),
        (f"等候超{sla:g}分", share),
        ("平均办理", _fmt(r.service_avg_min, " 分")), ("90%办理", _fmt(r.service_p90_min, " 分")),
        ("满意度均分", _fmt(r.rating_avg)),
        ("差评回访 待办/逾期", f"{r.follow_ups_open}/{r.follow_ups_overdue}"),
        ("高峰时段", f"{r.peak_hour or '—'} ({r.peak_count})"),
    ]


def render_page(report: Report, out: Path, hall_name: str = "") -> list[Path]:
    """report.png (150 dpi) and report.pdf: one A4 portrait page."""
    font = chinese_font()
    rc = {"font.family": [font] if font else ["sans-serif"], "axes.unicode_minus": False,
          "font.size": 8}
    out.mkdir(parents=True, exist_ok=True)
    import matplotlib as mpl  # rc_context only: no pyplot, no backend switch

    with mpl.rc_context(rc):
        fig = Figure(figsize=(8.27, 11.69))
        _draw(fig, report, hall_name)
        paths = [out / "report.png", out / "report.pdf"]
        fig.savefig(paths[0], dpi=150)
        fig.savefig(paths[1])
    return paths


def _draw(fig: Figure, report: Report, hall_name: str) -> None:
    total = report.total
    span = report.first.isoformat() if report.first == report.last else \
        f"{report.first.isoformat()} 至 {report.last.isoformat()}"
    fig.text(0.5, 0.975, f"{hall_name or '政务服务中心'} 排队叫号业务统计", ha="center",
             va="top", fontsize=15)
    fig.text(0.5, 0.952, f"统计日期：{span}    生成时间：{report.as_of:%Y-%m-%d %H:%M}"
             f"    等候时限（SLA）：{report.sla_minutes:g} 分钟", ha="center", va="top",
             fontsize=9)
    gs = fig.add_gridspec(4, 2, left=0.08, right=0.92, top=0.90, bottom=0.07,
                          hspace=0.55, wspace=0.3, height_ratios=[0.8, 1, 1, 1])

    # key figures as a two-column table
    ax = fig.add_subplot(gs[0, :])
    ax.axis("off")
    figs = _key_figures(total, report.sla_minutes)
    half = (len(figs) + 1) // 2
    cells = [[*figs[i], *(figs[i + half] if i + half < len(figs) else ("", ""))]
             for i in range(half)]
    tbl = ax.table(cellText=cells, cellLoc="left", loc="center",
                   colWidths=[0.2, 0.25, 0.25, 0.25])
    tbl.auto_set_font_size(False)
    tbl.set_fontsize(10)
    tbl.scale(1, 1.45)
    for (_row, col), cell in tbl.get_celld().items():
        cell.set_edgecolor("#bbbbbb")
        if col in (0, 2):
            cell.set_facecolor("#eef2f7")
    ax.text(0, 1.09, "总体指标" + ("（合计）" if report.first != report.last else ""),
            transform=ax.transAxes, fontsize=11, va="bottom")

    if report.first == report.last:
        _hours_chart(fig.add_subplot(gs[1, :]), [h for h in report.hours if h.day == ALL],
                     report.sla_minutes)
    else:  # a week or a month: the trend by day
        _days_chart(fig.add_subplot(gs[1, :]), [d for d in report.days if d.day != ALL],
                    report.sla_minutes)
    services = [r for r in report.services if r.day == ALL and (r.issued or r.waits)]
    counters = [r for r in report.counters if r.day == ALL and (r.waits or sum(r.rating.values()))]
    _wait_chart(fig.add_subplot(gs[2, 0]), services, report.sla_minutes)
    _issued_chart(fig.add_subplot(gs[2, 1]), services)
    _counter_chart(fig.add_subplot(gs[3, 0]), counters)
    _rating_chart(fig.add_subplot(gs[3, 1]), counters)
    fig.text(0.08, 0.035,
             "说明：等候＝取号（或重新排队、转办）至叫号；办理＝开始办理（未点开始则叫号）至办结；"
             "转办后再次等候另计一次。\n系统暂无工作人员登录，“按人员”统计以窗口为单位。"
             "90% 为第 90 百分位（最近秩法）。",
             fontsize=7, va="top", color="#444444")


def _hours_chart(ax, hours: list[HourRow], sla: float) -> None:  # type: ignore[no-untyped-def]
    ax.set_title("分时段取号量与平均等候", loc="left", fontsize=10)
    if not hours:
        ax.text(0.5, 0.5, "无数据", ha="center", transform=ax.transAxes)
        return
    xs = [h.hour for h in hours]
    ax.bar(xs, [h.issued for h in hours], color="#4575b4", label="取号")
    ax.set_xticks(xs, [f"{h}时" for h in xs])
    ax.set_xlim(min(xs) - 0.6, max(max(xs), min(xs) + 8) + 0.6)  # a lone hour stays a bar
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("取号（张）")
    _wait_line(ax, [(h.hour, h.wait_avg_min) for h in hours if h.wait_avg_min is not None],
               sla)


def _days_chart(ax, days: list[Row], sla: float) -> None:  # type: ignore[no-untyped-def]
    ax.set_title("每日取号量与平均等候", loc="left", fontsize=10)
    if not days:
        ax.text(0.5, 0.5, "无数据", ha="center", transform=ax.transAxes)
        return
    xs = list(range(len(days)))
    ax.bar(xs, [d.issued or 0 for d in days], color="#4575b4", label="取号")
    step = max(1, len(days) // 16)  # a month's labels must not collide
    ax.set_xticks(xs[::step], [d.day[5:] for d in days][::step])
    ax.set_ylabel("取号（张）")
    ax.yaxis.get_major_locator().set_params(integer=True)
    _wait_line(ax, [(x, d.wait_avg_min) for x, d in zip(xs, days, strict=True)
                     if d.wait_avg_min is not None], sla)


def _wait_line(ax, pts: list[tuple[float, float]], sla: float) -> None:  # type: ignore[no-untyped-def]
    """Average wait as a line on a second axis over a bar chart of tickets, with the
    service-time limit (时限) dashed across and one legend for both, above the plot."""
    ax2 = ax.twinx()
    if pts:
        ax2.plot([p[0] for p in pts], [p[1] for p in pts], color="#d73027", marker="o",
                 label="平均等候（分）")
    ax2.axhline(sla, color="#d73027", linestyle="--", linewidth=0.8)
    ax2.text(1.0, sla, f"时限 {sla:g} 分 ", color="#d73027", va="bottom", ha="right",
             fontsize=7, transform=ax2.get_yaxis_transform(),
             bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    ax2.set_ylabel("平均等候（分）")
    ax2.set_ylim(0, max([sla, *(p[1] for p in pts)]) * 1.2)
    lines, lines2 = ax.get_legend_handles_labels(), ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="lower right", fontsize=7,
              bbox_to_anchor=(1.0, 1.0), ncols=2, frameon=False)  # above the plot
    ax.set_ylim(0, ax.get_ylim()[1] * 1.1)


def _wait_chart(ax, rows: list[Row], sla: float) -> None:  # type: ignore[no-untyped-def]
    ax.set_title("各业务等候时间（分）", loc="left", fontsize=10)
    names = [r.name for r in rows]
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r.wait_avg_min or 0 for r in rows], 0.4, label="平均",
           color="#74add1")
    ax.bar([x + 0.2 for x in xs], [r.wait_p90_min or 0 for r in rows], 0.4, label="90%",
           color="#4575b4")
    ax.axhline(sla, color="#d73027", linestyle="--", linewidth=0.8, label=f"时限 {sla:g} 分")
    ax.set_xticks(list(xs), names, rotation=20, ha="right")
    ax.legend(fontsize=7)


def _issued_chart(ax, rows: list[Row]) -> None:  # type: ignore[no-untyped-def]
    ax.set_title("各业务取号与办结（张）", loc="left", fontsize=10)
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r.issued or 0 for r in rows], 0.4, label="取号",
           color="#abd9e9")
    ax.bar([x + 0.2 for x in xs], [r.served for r in rows], 0.4, label="办结", color="#2c7bb6")
    for x, r in zip(xs, rows, strict=True):
        if r.over_sla_share:
            ax.text(x, max(r.issued or 0, r.served), f"超时{r.over_sla_share * 100:.0f}%",
                    ha="center", va="bottom", fontsize=6, color="#d73027")
    ax.set_xticks(list(xs), [r.name for r in rows], rotation=20, ha="right")
    _headroom(ax)
    ax.legend(fontsize=7)


def _headroom(ax) -> None:  # type: ignore[no-untyped-def]
    """Room above the tallest bar for its label; whole numbers on count axes."""
    low, high = ax.get_ylim()
    ax.set_ylim(low, high * 1.15 if high > 0 else 1)
    ax.yaxis.get_major_locator().set_params(integer=True)


def _counter_chart(ax, rows: list[Row]) -> None:  # type: ignore[no-untyped-def]
    ax.set_title("各窗口办件（件）与平均办理时长", loc="left", fontsize=10)
    xs = list(range(len(rows)))
    served = [r.served for r in rows]
    no_show = [r.no_show for r in rows]
    moved = [r.transferred for r in rows]
    ax.bar(xs, served, color="#1a9850", label="办结")
    ax.bar(xs, no_show, bottom=served, color="#fdae61", label="过号")
    ax.bar(xs, moved, bottom=[a + b for a, b in zip(served, no_show, strict=True)],
           color="#abd9e9", label="转办")
    for x, r in zip(xs, rows, strict=True):
        if r.service_avg_min is not None:
            ax.text(x, r.served + r.no_show + r.transferred, f"{r.service_avg_min:g}分",
                    ha="center", va="bottom", fontsize=6)
    ax.set_xticks(xs, [r.name for r in rows], rotation=20, ha="right")
    _headroom(ax)
    ax.legend(fontsize=7, loc="upper right", ncols=3)


def _rating_chart(ax, rows: list[Row]) -> None:  # type: ignore[no-untyped-def]
    ax.set_title("各窗口评价分布（条）", loc="left", fontsize=10)
    xs = list(range(len(rows)))
    bottom = [0] * len(rows)
    for lv in LEVELS:
        vals = [r.rating[lv] for r in rows]
        ax.bar(xs, vals, bottom=bottom, color=LEVEL_COLOURS[lv], label=LEVEL_NAMES[lv])
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    for x, r in zip(xs, rows, strict=True):
        if r.follow_ups_open:
            ax.text(x, bottom[x], f"待回访{r.follow_ups_open}", ha="center", va="bottom",
                    fontsize=6, color="#d73027")
    ax.set_xticks(xs, [r.name for r in rows], rotation=20, ha="right")
    _headroom(ax)
    ax.set_ylim(top=ax.get_ylim()[1] * 1.25)  # the legend sits above the bars
    ax.legend(fontsize=6, loc="upper left", ncols=3)
