"""Synthetic published notices, bulk-inserted by set-based SQL (like supervision.py's cases).

N notices (all published: 98 % approved, 2 % withdrawn) with 1-5 persons each (3 on average),
spread over the working days of the 5 years ending today, of which a fixed handful is open
today (OPEN) and a few are scheduled to open (SCHEDULED) whatever N is, as on a real home page.
Periods are real: start on a working day, end on the 5th working day counted from it, read
from the portal's materialised calendar. About 1 % of notices carry a published correction.

Names are realistic Chinese names drawn from pools (about 120 surnames x 120 given names), so a
common name recurs as the archive grows, as it does in reality. For searches whose answer must
not change with N ("the same request at every size"), PLANTED_NAMES are each given to exactly
PLANTED_COPIES persons, and PLANTED_UNITS appear in exactly PLANTED_COPIES proposed posts; no
pool can produce either.

    load_notices(engine, n, today) -> NoticeData
"""

# ruff: noqa: S608
# (every SQL string here is built from constants and integers, never from input)
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

from benchmarks.supervision import Dialect, h
from publicity.models import SEARCH_SEPARATOR

YEARS = 5
OPEN, SCHEDULED = 12, 3
PLANTED_COPIES = 3
CORRECTION_EVERY = 97  # ~1 % of notices carry one published correction

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武"
    "戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒"
)
GIVEN = (
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "建国", "志强", "国华", "海燕",
    "红梅", "立新", "春燕", "晓东", "永刚", "德明", "文杰", "俊", "鹏", "辉", "华", "斌", "宇",
    "浩", "凯", "健", "波", "宁", "琳", "婷", "雪", "倩", "颖", "慧", "建军", "建平", "建明",
    "志刚", "志明", "志勇", "国强", "国庆", "国平", "海波", "海涛", "海峰", "红霞", "红英", "玉兰",
    "玉梅", "凤英", "桂兰", "晓明", "晓红", "晓燕", "晓峰", "小平", "小红", "卫东", "卫国", "振华",
    "振宇", "金龙", "金凤", "永红", "永强", "光明", "光辉", "春生", "春梅", "秋菊", "冬梅", "学军",
    "学文", "继红", "继东", "爱国", "爱民", "庆华", "庆丰", "少华", "少军", "新民", "新华", "东升",
    "东方", "宏伟", "宏亮", "家豪", "家兴", "世杰", "世明", "子涵", "子轩", "一鸣", "思远", "嘉怡",
    "雨婷", "梦琪", "欣怡", "浩然", "博文", "天佑", "俊杰", "美玲",
)
# Names no pool can produce (compound surnames are absent from SURNAMES).
PLANTED_NAMES = ("欧阳明哲", "司马文渊", "上官静怡", "诸葛伟民", "皇甫晓岚",
                 "慕容子衿", "尉迟建业", "公孙志远", "令狐俊杰", "东方云鹤")
# Units no pool produces: the free-text search over posts looks for these.
PLANTED_UNITS = ("地方志编纂中心", "供销合作社联合社", "机关事务服务中心", "红十字会", "档案馆")
TOWNS = (
    "城关镇", "青山镇", "石桥镇", "白沙镇", "龙泉镇", "新华乡", "长岭乡", "河口镇", "东风镇",
    "和平乡", "双河镇", "柳林镇", "大坪乡", "桃源镇", "高桥镇", "马头镇", "三合镇", "永安乡",
    "清水镇", "黄田镇", "金山镇", "凤凰镇", "太平镇", "新田乡", "石门镇", "白马乡", "红星镇",
    "长安镇", "平安乡", "兴隆镇", "杨柳镇", "花园乡", "沙坪镇", "岭南乡", "古城镇", "五里镇",
)
TOWN_ROLES = ("党委书记", "党委副书记、镇长", "党委副书记", "党委委员、副镇长", "人大主席",
              "纪委书记", "党委委员、组织委员", "党委委员、宣传委员", "党委委员、武装部长")
BUREAUS = (
    "县发展和改革局", "县教育局", "县科学技术局", "县财政局", "县人力资源和社会保障局",
    "县自然资源局", "县生态环境局", "县住房和城乡建设局", "县交通运输局", "县水利局",
    "县农业农村局", "县商务局", "县文化和旅游局", "县卫生健康局", "县应急管理局", "县审计局",
    "县市场监督管理局", "县统计局", "县医疗保障局", "县林业局", "县民政局", "县司法局",
    "县退役军人事务局", "县信访局", "县乡村振兴局", "县城市管理局", "县行政审批服务局",
    "县投资促进局", "县融媒体中心", "县人民医院",
)
BUREAU_ROLES = ("党组书记、局长", "党组成员、副局长", "党委书记", "副局长", "办公室主任",
                "总工程师", "党组副书记", "纪检监察组组长")
EDUCATION = ("大学本科，管理学学士", "大学本科，法学学士", "大学本科，工学学士", "研究生，硕士",
             "大学本科", "中央党校研究生", "在职研究生，公共管理硕士", "大学专科")
NATIVE = ("示范省示范县", "示范省东平县", "示范省西河县", "示范省南山县", "示范省北湖县",
          "邻省长丰县", "邻省安平县")
ETHNIC = ("汉族",) * 17 + ("回族", "壮族", "土家族")


@dataclass
class NoticeData:
    """What was loaded, and the ids and words the benchmarks ask for."""

    notices: int
    persons: int
    changes: int
    seconds: float
    first_id: int
    open_ids: list[int] = field(default_factory=list)
    closed_ids: list[int] = field(default_factory=list)  # a spread sample of closed notices
    common_name: str = ""  # a pool name, whose hits grow with N


def _pool(conn: Connection, name: str, values: Sequence[str]) -> None:
    conn.execute(text(f"CREATE TEMP TABLE {name} (k INTEGER PRIMARY KEY, v VARCHAR(60))"))
    conn.execute(text(f"INSERT INTO {name} (k, v) VALUES (:k, :v)"),
                 [{"k": k, "v": v} for k, v in enumerate(values)])


def load_notices(engine: Engine, n: int, today: dt.date) -> NoticeData:
    """Bulk-insert n published notices after any existing ones; return their description."""
    started = time.perf_counter()
    d = Dialect(engine.dialect.name)
    n = max(n, OPEN + SCHEDULED + 10 * PLANTED_COPIES)
    with engine.begin() as conn:
        if d.pg:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        first = int(conn.execute(text("SELECT COALESCE(max(id), 0) FROM notice")).scalar_one()) + 1
        today_ord = int(conn.execute(text("SELECT ordinal FROM calendar_day WHERE day = :d"),
                                     {"d": today}).scalar_one())
        dt_ = d.date_type
        conn.execute(text(f"CREATE TEMP TABLE bench_nwd (ord INTEGER PRIMARY KEY, day {dt_})"))
        conn.execute(text("INSERT INTO bench_nwd SELECT ordinal, day FROM calendar_day "
                          "WHERE is_workday = TRUE"))
        for name, values in (("bench_sur", SURNAMES), ("bench_giv", GIVEN),
                             ("bench_town", list(TOWNS)), ("bench_trole", list(TOWN_ROLES)),
                             ("bench_bur", list(BUREAUS)), ("bench_brole", list(BUREAU_ROLES)),
                             ("bench_edu", list(EDUCATION)), ("bench_nat", list(NATIVE)),
                             ("bench_eth", list(ETHNIC))):
            _pool(conn, name, values)
        closed = n - OPEN - SCHEDULED
        span = YEARS * 250  # working days in the archive's span
        # Notice k (1..n): closed ones spread over the span ending 10 working days ago; then
        # OPEN open today (started 0-2 working days ago, 5-day periods) and SCHEDULED future.
        start_ord = (f"CASE WHEN i <= {closed} THEN {today_ord - 10 - span} + "
                     f"((i - 1) * {span}) / {closed} "
                     f"WHEN i <= {closed + OPEN} THEN {today_ord} - (i % 3) "
                     f"ELSE {today_ord} + 1 + (i % 3) END")
        prefix, src = d.seq(n)
        conn.execute(text("CREATE TEMP TABLE bench_nst (ni INTEGER PRIMARY KEY, so INTEGER)"))
        conn.execute(text(f"{prefix}INSERT INTO bench_nst SELECT i, {start_ord} FROM {src}"))
        editors = "'[]'::json" if d.pg else "'[]'"
        ts = d.ts("s.day", "0")  # published 08:00 Shanghai on the first day
        conn.execute(text(f"""INSERT INTO notice (id, status, title, issuer, phone,
              letter_address, visit_address, requested_start, working_days, period_start,
              period_end, created_by, editors, created_at, approved_by, published_at,
              withdrawn_reason, withdrawn_at, editor_note, revision, updated_at, version)
            SELECT {first - 1} + t.ni,
              CASE WHEN t.ni <= {closed} AND t.ni % 50 = 7 THEN 'withdrawn' ELSE 'approved' END,
              '中共示范县委组织部干部任前公示（' || {d.padded('', 't.ni', 6)} || '）',
              '中共示范县委组织部', '0000-12380', '示范县人民路1号县委组织部干部监督科',
              '示范县人民路1号县委大院3号楼308室', s.day, 5, s.day, e.day, NULL, {editors},
              {ts}, NULL, {ts},
              CASE WHEN t.ni <= {closed} AND t.ni % 50 = 7
                   THEN '拟任人选另有任用，撤销本次公示' END,
              CASE WHEN t.ni <= {closed} AND t.ni % 50 = 7 THEN {d.ts("e.day", "1")} END,
              '', 1, {ts}, 1
            FROM bench_nst t JOIN bench_nwd s ON s.ord = t.so JOIN bench_nwd e ON e.ord = t.so + 4
            """))
        # Persons: 1-5 per notice (3 on average), names and posts drawn from the pools.
        prefix, src = d.seq(5 * n)
        nid = "((i - 1) / 5 + 1)"
        conn.execute(text(f"""{prefix}INSERT INTO notice_person (notice_id, position, name,
              gender, ethnicity, birth, native_place, education, work_start, party,
              current_post, proposed_post, exceptional, exceptional_circumstance,
              exceptional_reason, resume, cadre_id, outcome, outcome_at, objections_open,
              objections_total)
            SELECT {first - 1} + {nid}, (i - 1) % 5, su.v || gi.v,
              CASE WHEN {h(1)} % 10 < 3 THEN '女' ELSE '男' END, et.v,
              (1965 + {h(2)} % 25) || '-' || {d.padded('', f'1 + {h(3)} % 12', 2)},
              na.v, ed.v,
              (1987 + {h(2)} % 25) || '-07', (1990 + {h(2)} % 25) || '-06',
              CASE WHEN {h(4)} % 2 = 0 THEN tw.v || tr.v ELSE bu.v || br.v END,
              CASE WHEN {h(5)} % 2 = 0 THEN tw2.v || tr2.v ELSE bu2.v || br2.v END,
              FALSE, NULL, NULL, NULL, 'C' || {d.padded('', 'i', 8)},
              CASE WHEN t.so + 4 < {today_ord} THEN 'appointed' ELSE 'pending' END,
              NULL, 0, 0
            FROM {src}
            JOIN bench_nst t ON t.ni = {nid}
            JOIN bench_sur su ON su.k = {h(6)} % {len(SURNAMES)}
            JOIN bench_giv gi ON gi.k = {h(7)} % {len(GIVEN)}
            JOIN bench_eth et ON et.k = {h(8)} % {len(ETHNIC)}
            JOIN bench_nat na ON na.k = {h(9)} % {len(NATIVE)}
            JOIN bench_edu ed ON ed.k = {h(10)} % {len(EDUCATION)}
            JOIN bench_town tw ON tw.k = {h(11)} % {len(TOWNS)}
            JOIN bench_trole tr ON tr.k = {h(12)} % {len(TOWN_ROLES)}
            JOIN bench_bur bu ON bu.k = {h(11)} % {len(BUREAUS)}
            JOIN bench_brole br ON br.k = {h(12)} % {len(BUREAU_ROLES)}
            JOIN bench_town tw2 ON tw2.k = {h(13)} % {len(TOWNS)}
            JOIN bench_trole tr2 ON tr2.k = {h(0)} % {len(TOWN_ROLES)}
            JOIN bench_bur bu2 ON bu2.k = {h(13)} % {len(BUREAUS)}
            JOIN bench_brole br2 ON br2.k = {h(0)} % {len(BUREAU_ROLES)}
            WHERE (i - 1) % 5 < 1 + ({nid} * 7) % 5
            """))
        # One published correction on ~1 % of the notices (and on every open one).
        conn.execute(text(f"""INSERT INTO notice_change (notice_id, kind, status, reason,
              changes, substantive, proposed_by, proposed_at, approved_by, published_at,
              new_period_start, new_period_end)
            SELECT {first - 1} + t.ni, 'correction', 'approved',
              '更正拟任职务表述', {"'[]'::json" if d.pg else "'[]'"}, FALSE, NULL,
              {d.ts("s.day", "3")}, NULL, {d.ts("s.day", "3")}, NULL, NULL
            FROM bench_nst t JOIN bench_nwd s ON s.ord = t.so
            WHERE t.ni % {CORRECTION_EVERY} = 0 OR t.ni > {closed}"""))
        # The planted names and units: PLANTED_COPIES each, on first persons of closed
        # notices spread over the archive (distinct notices for every plant).
        plants = len(PLANTED_NAMES) + len(PLANTED_UNITS)
        step = max(1, closed // (plants * PLANTED_COPIES + 1))
        slot = 0
        for k, name in enumerate(PLANTED_NAMES + PLANTED_UNITS):
            for _copy in range(PLANTED_COPIES):
                slot += 1
                target = first - 1 + slot * step
                column = "name" if k < len(PLANTED_NAMES) else "proposed_post"
                value = name if column == "name" else f"县{name}主任"
                conn.execute(text(f"UPDATE notice_person SET {column} = :v "
                                  "WHERE notice_id = :n AND position = 0"),
                             {"v": value, "n": target})
        # What the archive's free-text search looks in, as the service writes it (title,
        # issuer, every post); on SQLite the triggers of migration 0007 index it.
        posts = ("(SELECT string_agg(p.current_post || :sep || p.proposed_post, :sep "
                 "ORDER BY p.position) FROM notice_person p WHERE p.notice_id = notice.id)"
                 if d.pg else
                 "(SELECT group_concat(p.current_post || :sep || p.proposed_post, :sep) "
                 "FROM (SELECT current_post, proposed_post FROM notice_person "
                 "WHERE notice_id = notice.id ORDER BY position) AS p)")
        conn.execute(text(f"UPDATE notice SET search_text = title || :sep || issuer || "
                          f"COALESCE(:sep || {posts}, '') WHERE id >= :f"),
                     {"sep": SEARCH_SEPARATOR, "f": first})
        # The global public revision (keys list pages' ETags).
        count = conn.execute(text("SELECT count(*) FROM notice")).scalar_one()
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        if conn.execute(text("SELECT count(*) FROM publicity_revision")).scalar_one():
            conn.execute(text("UPDATE publicity_revision SET revision = revision + :n, "
                              "changed_at = :t WHERE id = 1"), {"n": count, "t": now})
        else:
            conn.execute(text("INSERT INTO publicity_revision (id, revision, changed_at) "
                              "VALUES (1, :n, :t)"), {"n": count, "t": now})
        for name in ("bench_nst", "bench_nwd", "bench_sur", "bench_giv", "bench_town",
                     "bench_trole", "bench_bur", "bench_brole", "bench_edu", "bench_nat",
                     "bench_eth"):
            conn.execute(text(f"DROP TABLE {name}"))
        persons = int(conn.execute(text("SELECT count(*) FROM notice_person WHERE notice_id "
                                        ">= :f"), {"f": first}).scalar_one())
        changes = int(conn.execute(text("SELECT count(*) FROM notice_change WHERE notice_id "
                                        ">= :f"), {"f": first}).scalar_one())
        last = first + n - 1
        open_ids = [int(r[0]) for r in conn.execute(text(
            "SELECT id FROM notice WHERE id > :c ORDER BY id"), {"c": first - 1 + closed})
            ][:OPEN]
        sample = [first - 1 + 1 + (k * (closed - 1)) // 49 for k in range(50)]
        closed_ids = [int(r[0]) for r in conn.execute(text(
            "SELECT id FROM notice WHERE status = 'approved' AND id IN ("
            + ",".join(str(s) for s in sample) + ")"))]
        common = str(conn.execute(text(
            "SELECT name FROM notice_person WHERE notice_id = :n ORDER BY position LIMIT 1"),
            {"n": last - OPEN - SCHEDULED}).scalar_one())
    _analyze(engine)
    return NoticeData(n, persons, changes, time.perf_counter() - started, first, open_ids,
                      closed_ids, common)


def _analyze(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("VACUUM ANALYZE notice"))
            conn.execute(text("VACUUM ANALYZE notice_person"))
            conn.execute(text("VACUUM ANALYZE notice_change"))
            conn.execute(text("VACUUM ANALYZE publicity_revision"))
        else:
            for table in ("notice", "notice_person", "notice_change", "publicity_revision"):
                conn.execute(text(f"ANALYZE {table}"))


def published_count(engine: Engine) -> dict[str, Any]:
    """Row counts of the publicity tables (for the report)."""
    with engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                for t in ("notice", "notice_person", "notice_change")}
