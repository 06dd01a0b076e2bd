//! `tuopin demo-data`: a deterministic invented ledger, for demos, tests and benchmarks.
//!
//! The same `--seed` and `--households` give the same bytes on every machine. Distributions are
//! plausible, not statistics: most households are 一般农户 or 脱贫户, incomes cluster around the
//! poverty and monitoring lines, a few households are monitored, and a share of cells (`--messy`)
//! uses the spellings found in real exports — or, one time in ten, an invalid one. With
//! `--next-quarter FILE` a second snapshot is written: the same households a quarter later, with
//! some gone, some new, members and incomes changed and a few type transitions.

use crate::cli::DemoArgs;
use crate::error::Outcome;
use crate::output::AtomicFile;

/// The columns written: the national rule set's primary headers.
pub const HEADERS: [&str; 39] = [
    "户编号",
    "县(市、区、旗)",
    "乡(镇)",
    "行政村",
    "户主姓名",
    "户主证件号码",
    "户类型",
    "监测对象类别",
    "识别监测时间",
    "风险是否消除",
    "家庭人口数",
    "劳动力人数",
    "工资性收入",
    "生产经营性收入",
    "财产性收入",
    "转移性收入",
    "生产经营性支出",
    "人均纯收入（元）",
    "上年人均纯收入（元）",
    "合规自付医疗支出",
    "教育支出",
    "其他刚性支出",
    "不愁吃",
    "不愁穿",
    "失学辍学人数",
    "参加基本医疗保险人数",
    "危房等级",
    "住房安全保障方式",
    "是否解决安全饮用水",
    "大病慢性病人数",
    "残疾人数",
    "是否受灾",
    "有财政供养人员",
    "有小汽车",
    "城镇购房",
    "经营公司",
    "民主评议",
    "公示无异议",
    "户认可",
];

/// SplitMix64: small, fast, and the same everywhere (a dependency would be more than this).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.next_u64() as usize % xs.len()]
    }
}

/// GB 11643 check character of the first 17 digits.
pub fn id_check(body: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.bytes().zip(W).map(|(b, w)| (b - b'0') as u32 * w).sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

const SURNAMES: [&str; 12] = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙"];
const GIVEN: [&str; 12] =
    ["某华", "某芳", "某强", "某明", "某英", "某军", "某平", "某兰", "某林", "某秀", "某勇", "某梅"];

/// One household's facts, enough to write a row and to age it by a quarter.
#[derive(Debug, Clone)]
pub struct Demo {
    pub seq: u64,
    pub kind: &'static str,
    pub monitor: &'static str,
    pub since: i64,
    pub eliminated: bool,
    pub members: i64,
    pub labor: i64,
    pub pci_fen: i64,
    pub prev_fen: i64,
    pub medical: i64,
    pub guarantees_ok: bool,
    pub grade: &'static str,
    pub secured: &'static str,
    pub ill: i64,
    pub disabled: i64,
    pub disaster: bool,
    pub excluded: bool,
    pub steps: bool,
}

impl Demo {
    pub fn new(seq: u64, rng: &mut Rng) -> Demo {
        let t = rng.range(0, 99);
        let kind = if t < 65 {
            "一般农户"
        } else if t < 95 {
            "脱贫户"
        } else {
            "贫困户"
        };
        let members = rng.range(1, 6);
        let band = rng.range(0, 99);
        let pci_yuan = match band {
            0..=9 => rng.range(1500, 3999),
            10..=24 => rng.range(4000, 5999),
            25..=34 => rng.range(6000, 7999),
            _ => rng.range(8000, 30000),
        };
        let monitored = kind != "贫困户" && rng.chance(0.06);
        Demo {
            seq,
            kind,
            monitor: if monitored {
                rng.pick(&["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"])
            } else {
                ""
            },
            since: 2021 * 12 + rng.range(0, 44),
            eliminated: monitored && rng.chance(0.2),
            members,
            labor: rng.range(0, members),
            pci_fen: pci_yuan * 100 + rng.range(0, 99),
            prev_fen: (pci_yuan + rng.range(-1500, 1500)).max(0) * 100,
            medical: if rng.chance(0.08) { rng.range(1000, 40000) } else { 0 },
            guarantees_ok: rng.chance(0.96),
            grade: rng.pick(&["A", "A", "A", "B", "B", "C", "D"]),
            secured: rng.pick(&["鉴定安全", "改造安全", "", ""]),
            ill: if rng.chance(0.12) { rng.range(1, 2) } else { 0 },
            disabled: if rng.chance(0.07) { 1 } else { 0 },
            disaster: rng.chance(0.03),
            excluded: rng.chance(0.01),
            steps: rng.chance(0.7),
        }
    }

    /// The same household a quarter later.
    pub fn next_quarter(&self, rng: &mut Rng) -> Demo {
        let mut d = self.clone();
        d.prev_fen = self.prev_fen;
        d.pci_fen = (self.pci_fen + rng.range(-80_000, 120_000)).max(0);
        if rng.chance(0.03) {
            d.members = (self.members + rng.pick(&[-1, 1])).max(1);
            d.labor = d.labor.min(d.members);
        }
        if self.kind == "贫困户" && rng.chance(0.3) {
            d.kind = "脱贫户";
        } else if self.kind == "脱贫户" && rng.chance(0.003) {
            d.kind = "贫困户";
        }
        if d.monitor.is_empty() && rng.chance(0.01) {
            d.monitor = "边缘易致贫户";
            d.since = 2024 * 12 + 5;
        }
        d
    }

    fn row(&self, rng: &mut Rng, messy: f64) -> Vec<String> {
        let yuan =
            |fen: i64| if fen % 100 == 0 { (fen / 100).to_string() } else { format!("{}.{:02}", fen / 100, fen % 100) };
        let yn = |b: bool| (if b { "是" } else { "否" }).to_string();
        let village = self.seq / 400;
        let birth = 1950 + (self.seq % 50) as i64;
        let body = format!("520000{birth}{:02}{:02}{:03}", 1 + self.seq % 12, 1 + self.seq % 28, self.seq % 1000);
        let ok = self.guarantees_ok;
        let mut cells = vec![
            format!("D{:09}", self.seq),
            "示例县".into(),
            format!("示例{}镇", village / 10 + 1),
            format!("第{}村", village + 1),
            format!("{}{}", SURNAMES[(self.seq % 12) as usize], GIVEN[(self.seq / 12 % 12) as usize]),
            format!("{body}{}", id_check(&body)),
            self.kind.into(),
            self.monitor.into(),
            if self.monitor.is_empty() {
                String::new()
            } else {
                format!("{}{:02}", self.since / 12, self.since % 12 + 1)
            },
            if self.monitor.is_empty() { String::new() } else { yn(self.eliminated) },
            self.members.to_string(),
            self.labor.to_string(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            yuan(self.pci_fen),
            yuan(self.prev_fen),
            if self.medical > 0 { self.medical.to_string() } else { String::new() },
            String::new(),
            String::new(),
            yn(ok || rng.chance(0.7)),
            "是".into(),
            (if ok { 0 } else { rng.range(0, 1) }).to_string(),
            (if ok { self.members } else { rng.range(0, self.members) }).to_string(),
            self.grade.into(),
            if matches!(self.grade, "C" | "D") && ok { "改造安全".into() } else { self.secured.into() },
            yn(ok || rng.chance(0.5)),
            if self.ill > 0 { self.ill.to_string() } else { String::new() },
            if self.disabled > 0 { self.disabled.to_string() } else { String::new() },
            if self.disaster { "是".into() } else { String::new() },
            String::new(),
            if self.excluded { "是".into() } else { String::new() },
            String::new(),
            String::new(),
            if self.kind == "贫困户" { yn(self.steps) } else { String::new() },
            if self.kind == "贫困户" { yn(self.steps) } else { String::new() },
            if self.kind == "贫困户" { yn(self.steps) } else { String::new() },
        ];
        // Income given as components instead of a per-capita figure, for one row in twenty.
        if rng.chance(0.05) {
            let total = self.pci_fen * self.members;
            cells[12] = yuan(total / 2);
            cells[13] = yuan(total - total / 2);
            cells[14] = "0".into();
            cells[15] = "0".into();
            cells[16] = "0".into();
            cells[17] = String::new();
        }
        if messy > 0.0 && rng.chance(messy) {
            let c = rng.pick(&[17usize, 18, 22, 28, 10]);
            if rng.chance(0.1) {
                cells[c] = rng.pick(&["约3000", "N/A", "-", "不详"]).to_string();
            } else {
                cells[c] = messy_spelling(&cells[c], rng);
            }
        }
        cells
    }
}

/// A valid but messy spelling of a cell, as found in real exports.
fn messy_spelling(cell: &str, rng: &mut Rng) -> String {
    match cell {
        "是" => rng.pick(&["√", "Y", "有", "1"]).to_string(),
        "否" => rng.pick(&["×", "N", "无", "0"]).to_string(),
        "" => String::new(),
        s if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') => match rng.range(0, 2) {
            0 => format!("{s}元"),
            1 => s
                .chars()
                .map(|c| if c.is_ascii_digit() { char::from_u32(c as u32 + 0xFEE0).unwrap_or(c) } else { c })
                .collect(),
            _ => format!(" {s} "),
        },
        s => s.to_string(),
    }
}

pub fn run(args: DemoArgs) -> anyhow::Result<Outcome> {
    // Households are generated one at a time from the seed, so memory does not grow with N; the
    // next quarter replays the same sequence and ages each household.
    let n = args.households;
    let mut rng = Rng::new(args.seed);
    write(&args.output, (0..n).map(|i| Demo::new(i, &mut rng)), &mut Rng::new(args.seed ^ 1), args.messy)?;
    if let Some(next) = &args.next_quarter {
        let mut base = Rng::new(args.seed);
        let mut change = Rng::new(args.seed ^ 2);
        let mut fresh = Rng::new(args.seed ^ 4);
        let kept = (0..n).filter_map(|i| {
            let h = Demo::new(i, &mut base);
            (!change.chance(0.01)).then(|| h.next_quarter(&mut change))
        });
        let new = (0..n / 100).map(|i| Demo::new(n + i, &mut fresh));
        write(next, kept.chain(new), &mut Rng::new(args.seed ^ 3), args.messy)?;
    }
    Ok(Outcome::Clean)
}

fn write(path: &std::path::Path, rows: impl Iterator<Item = Demo>, rng: &mut Rng, messy: f64) -> anyhow::Result<()> {
    let mut file = AtomicFile::create(path, &[])?;
    {
        let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 16, file.writer()));
        w.write_record(HEADERS)?;
        for d in rows {
            w.write_record(d.row(rng, messy))?;
        }
        w.flush()?;
    }
    file.writer().flush()?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_check_digits() {
        assert_eq!(id_check("11010519491231002"), 'X');
        assert_eq!(id_check("44052418800101001"), '4');
    }

    #[test]
    fn the_same_seed_gives_the_same_households() {
        let a: Vec<String> = (0..50).map(|i| format!("{:?}", Demo::new(i, &mut Rng::new(7)))).collect();
        let b: Vec<String> = (0..50).map(|i| format!("{:?}", Demo::new(i, &mut Rng::new(7)))).collect();
        assert_eq!(a, b);
    }
}
