"""The medical-insurance catalogue of the synthetic region and the clinical templates.

The catalogue (the contract's ``catalog`` table) lists each item with its price and the
limits that fraud rules read: sex and age restrictions, days-supply and daily limits, and
the bundle an item is a component of. The templates say which items a diagnosis brings:
for inpatient diagnosis groups, which items are charged every day, on admission, on the
day of surgery; for outpatient diagnoses, which exams and drugs (with days supplied).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Item:
    """One catalogue item."""

    key: str
    code: str
    name: str
    list_type: str
    charge_type: str
    price: float
    gend: str | None = None
    age_min: float | None = None
    age_max: float | None = None
    max_prd_days: float | None = None
    max_daily_cnt: float | None = None
    bundle: str | None = None
    """Key of the bundled item this item is a component of."""


def _svc(key: str, code: str, name: str, charge: str, price: float, **kw: object) -> Item:
    return Item(key, code, name, "201", charge, price, **kw)  # type: ignore[arg-type]


def _drug(key: str, code: str, name: str, price: float, **kw: object) -> Item:
    return Item(key, code, name, "101", "09", price, **kw)  # type: ignore[arg-type]


ITEMS: tuple[Item, ...] = (
    # beds, nursing, consultation
    _svc("bed_3", "001102000010003", "三级医院普通病房床位费", "01", 70.0, max_daily_cnt=1),
    _svc("bed_2", "001102000010002", "二级医院普通病房床位费", "01", 50.0, max_daily_cnt=1),
    _svc("nurse_1", "001203000010000", "Ⅰ级护理", "07", 40.0, max_daily_cnt=1),
    _svc("nurse_2", "001203000020000", "Ⅱ级护理", "07", 25.0, max_daily_cnt=1),
    _svc("consult_op", "001101000010000", "门诊诊查费", "02", 25.0),
    _svc("consult_em", "001101000020000", "急诊诊查费", "02", 30.0),
    _svc("consult_ip", "001101000030000", "住院诊查费", "02", 20.0, max_daily_cnt=1),
    _svc("reg", "001101000050000", "普通门诊挂号费", "13", 2.0, max_daily_cnt=1),
    # examinations
    _svc("xray_chest", "002101000010000", "胸部X线摄影", "03", 80.0),
    _svc("ct_chest", "002103000010000", "胸部CT平扫", "03", 260.0),
    _svc("ct_head", "002103000020000", "头颅CT平扫", "03", 240.0),
    _svc("mri_head", "002104000010000", "头颅磁共振平扫", "03", 560.0),
    _svc("us_abd", "002201000010000", "腹部彩色多普勒超声", "03", 120.0),
    _svc("ecg", "002202000010000", "常规心电图检查", "03", 25.0),
    _svc("echo", "002201000020000", "心脏彩色多普勒超声", "03", 220.0),
    _svc("gastroscopy", "002203000010000", "电子胃镜检查", "03", 350.0),
    # laboratory tests; the biochemistry panel is a bundle of four components
    _svc("cbc", "002501000010000", "血常规", "04", 20.0),
    _svc("biochem", "002503000010000", "生化全套", "04", 180.0),
    _svc("alt", "002503000020000", "丙氨酸氨基转移酶测定", "04", 8.0, bundle="biochem"),
    _svc("creat", "002503000030000", "肌酐测定", "04", 8.0, bundle="biochem"),
    _svc("glucose", "002503000040000", "葡萄糖测定", "04", 6.0, bundle="biochem"),
    _svc("lipids", "002503000050000", "血脂四项", "04", 48.0, bundle="biochem"),
    _svc("glucose_poc", "002503000060000", "末梢血糖监测", "04", 8.0, max_daily_cnt=7),
    _svc("crp", "002505000010000", "C反应蛋白测定", "04", 30.0),
    _svc("lytes", "002503000090000", "电解质测定", "04", 25.0),
    _svc("urine", "002502000010000", "尿常规", "04", 12.0),
    _svc("hba1c", "002503000070000", "糖化血红蛋白测定", "04", 60.0),
    _svc("coag", "002504000010000", "凝血四项", "04", 80.0),
    _svc("bga", "002503000080000", "血气分析", "04", 50.0),
    _svc("psa", "002506000010000", "前列腺特异性抗原测定", "04", 85.0, gend="1", age_min=40),
    _svc(
        "hcg",
        "002506000020000",
        "人绒毛膜促性腺激素测定",
        "04",
        45.0,
        gend="2",
        age_min=12,
        age_max=55,
    ),
    _svc("prenatal", "002506000030000", "产前检查", "03", 60.0, gend="2", age_min=14, age_max=55),
    # treatment
    _svc("iv", "003101000010000", "静脉输液", "05", 12.0, max_daily_cnt=3),
    _svc("neb", "003101000020000", "雾化吸入", "05", 15.0, max_daily_cnt=3),
    _svc("oxygen", "003101000030000", "氧气吸入(小时)", "05", 3.0, max_daily_cnt=24),
    _svc("monitor", "003101000040000", "心电监测(小时)", "05", 5.0, max_daily_cnt=24),
    _svc("dressing", "003102000010000", "换药", "05", 25.0, max_daily_cnt=2),
    _svc("rehab", "003103000010000", "运动疗法", "05", 45.0, max_daily_cnt=2),
    _svc("acup", "003104000010000", "普通针刺", "05", 30.0, max_daily_cnt=2),
    _svc("dialysis", "003105000010000", "血液透析", "05", 420.0, max_daily_cnt=1),
    _svc("chemo", "003106000010000", "静脉注射化疗", "05", 80.0, max_daily_cnt=1),
    # surgery
    _svc("op_append", "003301000010000", "阑尾切除术", "06", 1300.0),
    _svc("op_chole", "003302000010000", "腹腔镜胆囊切除术", "06", 2600.0),
    _svc(
        "op_csection",
        "003303000010000",
        "剖宫产术",
        "06",
        1800.0,
        gend="2",
        age_min=15,
        age_max=50,
    ),
    _svc("op_hip", "003304000010000", "人工髋关节置换术", "06", 5800.0),
    _svc("op_pci", "003305000010000", "经皮冠状动脉支架置入术", "06", 4800.0),
    _svc(
        "op_abortion",
        "003303000020000",
        "人工流产术",
        "06",
        650.0,
        gend="2",
        age_min=14,
        age_max=55,
    ),
    _svc("op_turp", "003306000010000", "经尿道前列腺电切术", "06", 3200.0, gend="1", age_min=40),
    _svc("op_debride", "003307000010000", "清创缝合术", "06", 150.0),
    _svc("anaesthesia", "003308000010000", "全身麻醉", "06", 900.0),
    # consumables
    Item("infusion_set", "C14010100000001", "一次性使用输液器", "301", "08", 4.0),
    Item("syringe", "C14010200000001", "一次性使用无菌注射器", "301", "08", 1.0),
    Item("stent", "C02020100000001", "冠状动脉药物洗脱支架", "301", "08", 720.0),
    Item("hip_implant", "C03010100000001", "人工髋关节假体", "301", "08", 7200.0),
    Item("suture", "C14020100000001", "可吸收缝合线", "301", "08", 60.0),
    # Western drugs (price per tablet, capsule, vial or pen)
    _drug("amlodipine", "XC08CAA0001", "苯磺酸氨氯地平片", 0.15, max_prd_days=84, max_daily_cnt=2),
    _drug("metformin", "XA10BAA0001", "盐酸二甲双胍片", 0.05, max_prd_days=84, max_daily_cnt=4),
    _drug("atorvastatin", "XC10AAA0001", "阿托伐他汀钙片", 0.2, max_prd_days=84, max_daily_cnt=2),
    _drug("aspirin", "XB01ACA0001", "阿司匹林肠溶片", 0.1, max_prd_days=84, max_daily_cnt=1),
    _drug("insulin", "XA10AEG0001", "甘精胰岛素注射液", 75.0, max_prd_days=84, max_daily_cnt=1),
    _drug("tiotropium", "XR03BBT0001", "噻托溴铵吸入粉雾剂", 6.0, max_prd_days=84, max_daily_cnt=1),
    _drug("ceftriaxone", "XJ01DDT0001", "注射用头孢曲松钠", 8.0, max_prd_days=7, max_daily_cnt=4),
    _drug("amoxicillin", "XJ01CAA0001", "阿莫西林胶囊", 0.2, max_prd_days=7, max_daily_cnt=8),
    _drug("levofloxacin", "XJ01MAL0001", "左氧氟沙星片", 0.8, max_prd_days=7, max_daily_cnt=2),
    _drug("ibuprofen", "XM01AEB0001", "布洛芬缓释胶囊", 0.4, max_prd_days=7, max_daily_cnt=2),
    _drug("omeprazole", "XA02BCA0001", "奥美拉唑肠溶胶囊", 0.3, max_prd_days=14, max_daily_cnt=2),
    _drug("kcl", "XB05XAP0001", "氯化钾注射液(10ml)", 1.5, max_daily_cnt=6),
    _drug("nacl", "XB05BBL0001", "0.9%氯化钠注射液(250ml)", 3.0, max_daily_cnt=6),
    _drug("tramadol", "XN02AXQ0001", "盐酸曲马多缓释片", 1.5, max_prd_days=7, max_daily_cnt=4),
    _drug("diazepam", "XN05BAD0001", "地西泮片", 0.1, max_prd_days=7, max_daily_cnt=3),
    _drug("morphine", "XN02AAL0001", "硫酸吗啡缓释片", 3.0, max_prd_days=15, max_daily_cnt=6),
    _drug(
        "paracetamol_child",
        "XN02BED0001",
        "小儿对乙酰氨基酚颗粒",
        1.2,
        age_max=12,
        max_prd_days=7,
        max_daily_cnt=4,
    ),
    _drug(
        "tamsulosin",
        "XG04CAT0001",
        "盐酸坦索罗辛缓释胶囊",
        1.5,
        gend="1",
        max_prd_days=84,
        max_daily_cnt=1,
    ),
    _drug("oxytocin", "XH01BBS0001", "缩宫素注射液", 3.0, gend="2", age_min=14, age_max=55),
    _drug("butylphthalide", "XN07XXD0001", "丁苯酞软胶囊", 6.0, max_prd_days=28, max_daily_cnt=3),
    _drug("albumin", "XB05AAR0001", "人血白蛋白(10g)", 380.0, max_daily_cnt=2),
    _drug("thymalfasin", "XL03AXX0001", "注射用胸腺法新", 160.0, max_daily_cnt=1),
    _drug("ngf", "XN07XXS0001", "注射用鼠神经生长因子", 210.0, max_daily_cnt=1),
    _drug(
        "osimertinib", "XL01EBA0001", "甲磺酸奥希替尼片", 170.0, max_prd_days=30, max_daily_cnt=1
    ),
    _drug("paclitaxel", "XL01CDZ0001", "注射用紫杉醇", 380.0, max_daily_cnt=2),
    _drug("epo", "XB03XAA0001", "重组人促红素注射液", 95.0, max_prd_days=28, max_daily_cnt=1),
    _drug("vitb1", "XA11DAA0001", "维生素B1片", 0.05, max_prd_days=14, max_daily_cnt=3),
    Item(
        "herbal",
        "T000000000001",
        "中药饮片(剂)",
        "102",
        "10",
        28.0,
        max_prd_days=14,
        max_daily_cnt=1,
    ),
    Item(
        "lianhua", "ZA01BAL0001", "连花清瘟胶囊", "101", "11", 0.6, max_prd_days=7, max_daily_cnt=12
    ),
    Item(
        "danshen",
        "ZA12BAF0001",
        "复方丹参滴丸",
        "101",
        "11",
        0.08,
        max_prd_days=84,
        max_daily_cnt=30,
    ),
)

ITEM_INDEX: dict[str, int] = {item.key: i for i, item in enumerate(ITEMS)}
HIGH_VALUE_DRUGS: tuple[str, ...] = ("albumin", "thymalfasin", "ngf")
"""Costly drugs whose volume per doctor is watched (辅助用药 and blood products)."""


def item_ids(*keys: str) -> np.ndarray:
    """Catalogue row numbers of items, by key."""
    return np.array([ITEM_INDEX[k] for k in keys], dtype=np.int32)


def item_arrays() -> dict[str, np.ndarray]:
    """Per-item columns as arrays, indexed by catalogue row number."""
    return {
        "price": np.array([i.price for i in ITEMS]),
        "charge_type": np.array([i.charge_type for i in ITEMS]),
        "list_type": np.array([i.list_type for i in ITEMS]),
        "is_drug": np.array([i.charge_type in ("09", "10", "11") for i in ITEMS]),
        "max_daily": np.array(
            [np.nan if i.max_daily_cnt is None else i.max_daily_cnt for i in ITEMS]
        ),
        "max_prd": np.array([np.nan if i.max_prd_days is None else i.max_prd_days for i in ITEMS]),
    }


def build_catalog() -> pd.DataFrame:
    """The contract's ``catalog`` table."""
    codes = {i.key: i.code for i in ITEMS}
    frame = pd.DataFrame(
        {
            "hilist_code": [i.code for i in ITEMS],
            "hilist_name": [i.name for i in ITEMS],
            "list_type": [i.list_type for i in ITEMS],
            "lmt_gend": pd.array([i.gend for i in ITEMS], dtype="str"),
            "lmt_age_min": np.array([np.nan if i.age_min is None else i.age_min for i in ITEMS]),
            "lmt_age_max": np.array([np.nan if i.age_max is None else i.age_max for i in ITEMS]),
            "max_prd_days": item_arrays()["max_prd"],
            "max_daily_cnt": item_arrays()["max_daily"],
            "bundle_code": pd.array(
                [None if i.bundle is None else codes[i.bundle] for i in ITEMS], dtype="str"
            ),
        }
    )
    for col in ("hilist_code", "hilist_name", "list_type"):
        frame[col] = frame[col].astype("str")
    return frame


# -- clinical templates ------------------------------------------------------------------


@dataclass(frozen=True)
class Charge:
    """An item a template charges: when, how many, how likely."""

    item: str
    when: str
    """``daily``, ``first`` (admission day), ``last`` (discharge day), ``op`` (day of
    surgery), ``after_op`` (each day after surgery), ``every3`` (every third day)."""
    cnt: tuple[float, float] = (1, 1)
    prob: float = 1.0


@dataclass(frozen=True)
class StayGroup:
    """An inpatient diagnosis group: its codes, who gets it, how long, what it costs."""

    key: str
    codes: tuple[str, ...]
    los: tuple[int, int]
    age: tuple[int, int]
    weight_young: float
    weight_old: float
    charges: tuple[Charge, ...]
    sex: str | None = None
    op_day: int = 1


_WARD = (
    Charge("consult_ip", "daily"),
    Charge("iv", "daily", (1, 2), 0.8),
    Charge("nacl", "daily", (1, 3), 0.8),
    Charge("infusion_set", "daily", (1, 2), 0.8),
    Charge("syringe", "daily", (2, 4), 0.9),
    Charge("omeprazole", "daily", (1, 2), 0.4),
    Charge("kcl", "daily", (1, 2), 0.3),
    Charge("lytes", "every3", prob=0.5),
)
_ADMIT_LABS = (
    Charge("cbc", "first"),
    Charge("biochem", "first"),
    Charge("cbc", "every3", prob=0.6),
)

STAY_GROUPS: tuple[StayGroup, ...] = (
    StayGroup(
        "pneumonia",
        ("J18.900", "J15.900"),
        (5, 12),
        (0, 95),
        1.0,
        1.5,
        (
            Charge("nurse_2", "daily"),
            *_WARD,
            *_ADMIT_LABS,
            Charge("ceftriaxone", "daily", (2, 2)),
            Charge("xray_chest", "first"),
            Charge("crp", "first"),
            Charge("neb", "daily", (1, 2), 0.4),
        ),
    ),
    StayGroup(
        "copd",
        ("J44.100",),
        (7, 14),
        (50, 95),
        0.0,
        1.2,
        (
            Charge("nurse_2", "daily"),
            *_WARD,
            *_ADMIT_LABS,
            Charge("neb", "daily", (2, 3)),
            Charge("oxygen", "daily", (8, 20)),
            Charge("ceftriaxone", "daily", (1, 2)),
            Charge("ct_chest", "first"),
            Charge("bga", "first"),
        ),
    ),
    StayGroup(
        "stroke",
        ("I63.900",),
        (10, 18),
        (45, 95),
        0.0,
        1.2,
        (
            Charge("nurse_1", "daily"),
            *_WARD,
            *_ADMIT_LABS,
            Charge("aspirin", "daily"),
            Charge("atorvastatin", "daily"),
            Charge("butylphthalide", "daily", (3, 3)),
            Charge("rehab", "after_op", (1, 2), 0.7),
            Charge("ct_head", "first"),
            Charge("mri_head", "first", prob=0.8),
            Charge("coag", "first"),
            Charge("ecg", "first"),
        ),
        op_day=2,
    ),
    StayGroup(
        "coronary",
        ("I21.900", "I20.000"),
        (6, 10),
        (40, 90),
        0.0,
        0.9,
        (
            Charge("nurse_1", "daily"),
            *_WARD,
            *_ADMIT_LABS,
            Charge("op_pci", "op", prob=0.8),
            Charge("stent", "op", (1, 2), 0.8),
            Charge("monitor", "daily", (12, 24)),
            Charge("aspirin", "daily"),
            Charge("atorvastatin", "daily"),
            Charge("ecg", "first"),
            Charge("echo", "first"),
            Charge("coag", "first"),
        ),
    ),
    StayGroup(
        "appendicitis",
        ("K35.800",),
        (4, 7),
        (8, 70),
        0.8,
        0.2,
        (
            Charge("nurse_2", "daily"),
            *_WARD,
            *_ADMIT_LABS,
            Charge("op_append", "op"),
            Charge("anaesthesia", "op"),
            Charge("suture", "op"),
            Charge("ceftriaxone", "daily", (2, 2)),
            Charge("dressing", "after_op", prob=0.5),
            Charge("us_abd", "first"),
            Charge("crp", "first"),
        ),
        op_day=0,
    ),
    StayGroup(
        "gallstones",
        ("K80.200",),
        (5, 8),
        (30, 80),
        0.4,
        0.5,
        (
            Charge("nurse_2", "daily"),
            *_WARD,
            *_ADMIT_LABS,
            Charge("op_chole", "op"),
            Charge("anaesthesia", "op"),
            Charge("suture", "op"),
            Charge("ceftriaxone", "daily", (1, 2)),
            Charge("dressing", "after_op", prob=0.5),
            Charge("us_abd", "first"),
            Charge("coag", "first"),
        ),
    ),
    StayGroup(
        "caesarean",
        ("O82.000",),
        (4, 6),
        (20, 42),
        0.9,
        0.0,
        (
            Charge("nurse_2", "daily"),
            *_WARD,
            *_ADMIT_LABS,
            Charge("op_csection", "op"),
            Charge("anaesthesia", "op"),
            Charge("suture", "op"),
            Charge("oxytocin", "op", (2, 4)),
            Charge("ceftriaxone", "daily", (1, 2)),
            Charge("prenatal", "first"),
            Charge("coag", "first"),
        ),
        sex="2",
        op_day=0,
    ),
    StayGroup(
        "hip_fracture",
        ("S72.000",),
        (12, 22),
        (60, 95),
        0.0,
        0.7,
        (
            Charge("nurse_1", "daily"),
            *_WARD,
            *_ADMIT_LABS,
            Charge("op_hip", "op"),
            Charge("hip_implant", "op"),
            Charge("anaesthesia", "op"),
            Charge("rehab", "after_op", (1, 2), 0.8),
            Charge("ceftriaxone", "daily", (1, 2), 0.5),
            Charge("xray_chest", "first"),
            Charge("coag", "first"),
            Charge("tramadol", "after_op"),
        ),
        op_day=2,
    ),
    StayGroup(
        "diabetes",
        ("E11.900",),
        (6, 11),
        (35, 90),
        0.2,
        0.8,
        (
            Charge("nurse_2", "daily"),
            *_WARD,
            *_ADMIT_LABS,
            Charge("metformin", "daily", (2, 3)),
            Charge("insulin", "first", prob=0.5),
            Charge("glucose_poc", "daily", (4, 7)),
            Charge("hba1c", "first"),
            Charge("us_abd", "first", prob=0.5),
        ),
    ),
    StayGroup(
        "lung_cancer",
        ("C34.900",),
        (5, 10),
        (45, 90),
        0.0,
        0.4,
        (
            Charge("nurse_2", "daily"),
            *_WARD,
            *_ADMIT_LABS,
            Charge("chemo", "op"),
            Charge("paclitaxel", "op", (1, 2)),
            Charge("ct_chest", "first"),
            Charge("albumin", "after_op", (1, 1), 0.2),
        ),
    ),
    StayGroup(
        "prostate",
        ("N40.x00",),
        (5, 8),
        (55, 95),
        0.0,
        0.5,
        (
            Charge("nurse_2", "daily"),
            *_WARD,
            *_ADMIT_LABS,
            Charge("op_turp", "op"),
            Charge("anaesthesia", "op"),
            Charge("psa", "first"),
            Charge("us_abd", "first"),
            Charge("ceftriaxone", "daily", (1, 2), 0.6),
        ),
        sex="1",
    ),
    StayGroup(
        "haemorrhage",
        ("I61.900",),
        (25, 45),
        (45, 95),
        0.0,
        0.08,
        (
            Charge("nurse_1", "daily"),
            *_WARD,
            *_ADMIT_LABS,
            Charge("monitor", "daily", (12, 24)),
            Charge("rehab", "after_op", (1, 2), 0.8),
            Charge("ct_head", "first"),
            Charge("ct_head", "every3", prob=0.3),
            Charge("mri_head", "first"),
            Charge("coag", "first"),
            Charge("oxygen", "daily", (4, 12)),
        ),
        op_day=3,
    ),
    # groups that honest care never uses; fraud builds stays from them
    StayGroup(
        "checkup",
        ("R53.x00", "R51.x00"),
        (3, 6),
        (30, 80),
        0.0,
        0.0,
        (
            Charge("nurse_2", "first"),
            Charge("consult_ip", "daily"),
            Charge("ct_chest", "first"),
            Charge("ct_head", "op"),
            Charge("mri_head", "op", prob=0.7),
            Charge("echo", "first"),
            Charge("us_abd", "first"),
            Charge("gastroscopy", "op", prob=0.6),
            Charge("biochem", "first"),
            Charge("cbc", "first"),
            Charge("psa", "first", prob=0.0),
            Charge("ecg", "first"),
        ),
        op_day=1,
    ),
)
STAY_GROUP_INDEX = {g.key: i for i, g in enumerate(STAY_GROUPS)}
HONEST_STAY_GROUPS = tuple(g.key for g in STAY_GROUPS if g.weight_young + g.weight_old > 0)


@dataclass(frozen=True)
class VisitKind:
    """An outpatient diagnosis: code, who gets it, what it brings.

    Drug charges carry ``cnt`` as the daily dose; days supplied are drawn from ``days``.
    """

    key: str
    code: str
    med_type: str
    age: tuple[int, int]
    weight: float
    charges: tuple[Charge, ...]
    days: tuple[int, int] = (3, 7)
    sex: str | None = None


VISIT_KINDS: tuple[VisitKind, ...] = (
    VisitKind(
        "uri",
        "J06.900",
        "11",
        (0, 95),
        3.0,
        (
            Charge("consult_op", "first"),
            Charge("cbc", "first", prob=0.5),
            Charge("crp", "first", prob=0.3),
            Charge("amoxicillin", "first", (3, 6), 0.4),
            Charge("lianhua", "first", (6, 12), 0.4),
            Charge("ibuprofen", "first", (1, 2), 0.3),
        ),
        days=(3, 5),
    ),
    VisitKind(
        "uri_child",
        "J06.900",
        "11",
        (1, 11),
        2.0,
        (
            Charge("consult_op", "first"),
            Charge("cbc", "first", prob=0.5),
            Charge("paracetamol_child", "first", (2, 3)),
            Charge("amoxicillin", "first", (2, 3), 0.3),
        ),
        days=(3, 5),
    ),
    VisitKind(
        "gastritis",
        "K29.700",
        "11",
        (18, 90),
        1.2,
        (
            Charge("consult_op", "first"),
            Charge("gastroscopy", "first", prob=0.1),
            Charge("omeprazole", "first", (1, 2)),
        ),
        days=(7, 7),
    ),
    VisitKind(
        "back_pain",
        "M54.500",
        "11",
        (25, 90),
        1.0,
        (
            Charge("consult_op", "first"),
            Charge("acup", "first", prob=0.3),
            Charge("ibuprofen", "first", (1, 2), 0.8),
            Charge("herbal", "first", prob=0.2),
        ),
        days=(5, 7),
    ),
    VisitKind(
        "uti",
        "N39.000",
        "11",
        (15, 90),
        0.6,
        (
            Charge("consult_op", "first"),
            Charge("urine", "first", prob=0.9),
            Charge("levofloxacin", "first", (1, 2)),
        ),
        days=(5, 7),
    ),
    VisitKind(
        "gastroenteritis",
        "A09.900",
        "11",
        (0, 90),
        0.6,
        (
            Charge("consult_op", "first"),
            Charge("cbc", "first", prob=0.6),
            Charge("levofloxacin", "first", (1, 2), 0.4),
            Charge("omeprazole", "first", (1, 2), 0.4),
        ),
        days=(3, 5),
    ),
    VisitKind(
        "insomnia",
        "F51.000",
        "11",
        (25, 90),
        0.3,
        (
            Charge("consult_op", "first"),
            Charge("diazepam", "first", (1, 1)),
        ),
        days=(7, 7),
    ),
    VisitKind(
        "prenatal",
        "Z34.900",
        "11",
        (20, 40),
        0.5,
        (
            Charge("consult_op", "first"),
            Charge("prenatal", "first"),
            Charge("us_abd", "first", prob=0.6),
            Charge("hcg", "first", prob=0.4),
        ),
        sex="2",
    ),
    VisitKind(
        "bph",
        "N40.x00",
        "11",
        (55, 95),
        0.5,
        (
            Charge("consult_op", "first"),
            Charge("psa", "first", prob=0.5),
            Charge("tamsulosin", "first", (1, 1)),
        ),
        days=(7, 7),
        sex="1",
    ),
    VisitKind(
        "checkup_op",
        "Z00.000",
        "11",
        (18, 90),
        0.4,
        (
            Charge("consult_op", "first"),
            Charge("cbc", "first"),
            Charge("biochem", "first"),
            Charge("ecg", "first", prob=0.7),
            Charge("us_abd", "first", prob=0.5),
        ),
    ),
    VisitKind(
        "fever_em",
        "R50.900",
        "13",
        (0, 95),
        1.0,
        (
            Charge("consult_em", "first"),
            Charge("cbc", "first"),
            Charge("crp", "first", prob=0.6),
            Charge("ceftriaxone", "first", (1, 2), 0.4),
            Charge("iv", "first", prob=0.4),
            Charge("ibuprofen", "first", (1, 2), 0.6),
        ),
        days=(1, 3),
    ),
    VisitKind(
        "abdominal_em",
        "R10.400",
        "13",
        (10, 95),
        0.8,
        (
            Charge("consult_em", "first"),
            Charge("us_abd", "first"),
            Charge("cbc", "first"),
            Charge("omeprazole", "first", (1, 2), 0.6),
        ),
        days=(1, 3),
    ),
    VisitKind(
        "wound_em",
        "S61.900",
        "13",
        (3, 85),
        0.7,
        (
            Charge("consult_em", "first"),
            Charge("op_debride", "first"),
            Charge("suture", "first", prob=0.5),
            Charge("dressing", "first"),
        ),
        days=(1, 3),
    ),
    VisitKind(
        "angina_em",
        "I20.000",
        "13",
        (45, 95),
        0.4,
        (
            Charge("consult_em", "first"),
            Charge("ecg", "first"),
            Charge("monitor", "first", (2, 6)),
            Charge("aspirin", "first", (1, 1)),
        ),
        days=(1, 3),
    ),
)
VISIT_KIND_INDEX = {k.key: i for i, k in enumerate(VISIT_KINDS)}


@dataclass(frozen=True)
class Condition:
    """A chronic condition: its code, its regular drugs (daily dose), who has it."""

    key: str
    code: str
    drugs: tuple[tuple[str, float], ...]
    weight: float
    extra: tuple[Charge, ...] = ()
    long_supply: bool = True
    """Whether stable patients may get 56–84-day prescriptions of its drugs."""


CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "hypertension",
        "I10.x00",
        (("amlodipine", 1), ("aspirin", 1)),
        4.0,
        (Charge("ecg", "first", prob=0.15),),
    ),
    Condition(
        "diabetes",
        "E11.900",
        (("metformin", 3), ("atorvastatin", 1)),
        2.5,
        (Charge("hba1c", "first", prob=0.3), Charge("glucose_poc", "first", prob=0.3)),
    ),
    Condition(
        "coronary",
        "I25.100",
        (("aspirin", 1), ("atorvastatin", 1), ("danshen", 30)),
        1.5,
        (Charge("ecg", "first", prob=0.3),),
    ),
    Condition("copd", "J44.900", (("tiotropium", 1),), 1.0),
    Condition(
        "renal", "N18.500", (("epo", 1),), 0.15, (Charge("dialysis", "first"),), long_supply=False
    ),
    Condition(
        "lung_cancer",
        "C34.900",
        (("osimertinib", 1),),
        0.15,
        (Charge("ct_chest", "first", prob=0.2),),
        long_supply=False,
    ),
)
CONDITION_INDEX = {c.key: i for i, c in enumerate(CONDITIONS)}

PHARMACY_BASKETS: tuple[tuple[str, str, float, tuple[int, int]], ...] = (
    ("lianhua", "J06.900", 12, (3, 5)),
    ("ibuprofen", "M54.500", 2, (3, 7)),
    ("omeprazole", "K29.700", 2, (7, 14)),
    ("vitb1", "E56.900", 3, (7, 14)),
    ("amoxicillin", "J06.900", 6, (3, 5)),
)
"""Over-the-counter purchases: drug, diagnosis recorded, daily dose, days supplied."""

SAME_CHAPTER = {
    "J18.900": "J15.900",
    "J15.900": "J18.900",
    "J44.100": "J18.900",
    "I63.900": "I67.800",
    "I21.900": "I20.000",
    "I20.000": "I21.900",
    "K35.800": "K37.x00",
    "K80.200": "K81.000",
    "O82.000": "O80.000",
    "S72.000": "S72.100",
    "E11.900": "E11.200",
    "C34.900": "C78.000",
    "N40.x00": "N41.000",
    "I61.900": "I63.900",
    "R53.x00": "R51.x00",
    "R51.x00": "R53.x00",
}
"""A different diagnosis of the same ICD-10 chapter, for the subtle split admission."""

EXTRA_DIAGNOSES: tuple[str, ...] = ("O04.900",)
"""Diagnoses only fraud writes (an abortion billed to the wrong person)."""
