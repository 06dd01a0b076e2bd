//! `tuopin demo-data`: a deterministic invented ledger, for demos, tests and benchmarks.
//!
//! The same `--seed`, `--households` and `--year` give the same bytes on every machine. The
//! shares follow the period of `--year` (default-rules.md §6; policy.md §7 for the scale):
//! - types: no 贫困户 after 2020; in the 攻坚期 the 贫困户 share falls from 22 % (2015) to 2 %
//!   (2020) while the 脱贫户 share grows to 28 %; the rest are 一般农户;
//! - monitoring only from 2020: about 6 % of 脱贫户 (脱贫不稳定户, or 突发严重困难户 one time in five)
//!   and 1.5 % of 一般农户 (边缘易致贫户, or 突发严重困难户 three times in ten); two thirds of them with
//!   the risk eliminated (5.34 M of about 6.8 M monitored people by 2025, policy.md §7);
//! - household size 1–7 (12/24/22/20/13/6/3 %), labour 0 in about 8 % (mostly one- and
//!   two-person households), otherwise 1 to the adults of the household;
//! - per-capita income around a median that grows 8 % a year (2024: 一般农户 18,000, 脱贫户
//!   15,000, monitored households 8,000 元), spread log-normally, so that few 脱贫户 fall below the
//!   monitoring line; last year's about 6 % lower, one household in thirty with a sharp drop;
//! - the fourteen 帮扶措施 columns: a monitored household has a measure in each one time in three,
//!   a 脱贫户 one time in six, a 一般农户 rarely;
//! - a few households ill (13 %), disabled (6 %), struck by disaster (2 %), with exclusion evidence
//!   (1 %), in a C/D house (3 %) or with a guarantee gap (2 %).
//!
//! `--messy` uses the spellings found in real exports — or, one time in ten, an invalid one. With
//! `--next-quarter FILE` a second snapshot is written: the same households a quarter later, with
//! some gone, some new, members and incomes changed and a few type transitions.

use crate::cli::DemoArgs;
use crate::error::Outcome;
use crate::output::AtomicFile;

/// The columns written: the national rule set's primary headers.
pub const HEADERS: [&str; 53] = [
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
    "产业帮扶",
    "就业帮扶",
    "公益性岗位帮扶",
    "金融帮扶",
    "健康帮扶",
    "教育帮扶",
    "住房安全保障",
    "饮水安全保障",
    "义务教育保障",
    "综合保障",
    "社会帮扶",
    "搬迁",
    "生产生活条件改善",
    "基础设施建设",
];

/// The fourteen 帮扶措施 columns (the last of [`HEADERS`]).
const MEASURES: usize = 14;

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
    /// Roughly standard normal (the sum of four uniforms, scaled).
    pub fn normal(&mut self) -> f64 {
        let u = |r: &mut Rng| (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((u(self) + u(self) + u(self) + u(self)) - 2.0) * 3f64.sqrt()
    }
    /// One of `xs`, with the given weights.
    pub fn weighted<T: Copy>(&mut self, xs: &[(T, u32)]) -> T {
        let total: u32 = xs.iter().map(|x| x.1).sum();
        let mut r = self.range(0, total as i64 - 1) as u32;
        for &(x, w) in xs {
            if r < w {
                return x;
            }
            r -= w;
        }
        xs[xs.len() - 1].0
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
    /// Which of the fourteen 帮扶措施 columns hold a measure (bit k: column k).
    pub measures: u16,
    /// The year whose shares it was drawn with.
    pub year: i32,
}

impl Demo {
    /// A household as of the end of `year`, with the shares of its period (see the module).
    pub fn new(seq: u64, year: i32, rng: &mut Rng) -> Demo {
        // 贫困户 share in per mille: 220 in 2015 falling to 20 in 2020, none after; 脱贫户 grow
        // into the rest of the 30 % once registered.
        let poor = if year > 2020 { 0 } else { (20 + (2020 - year as i64).clamp(0, 5) * 40) as u32 };
        let kind = rng.weighted(&[("一般农户", 700), ("脱贫户", 300 - poor), ("贫困户", poor)]);
        let members = rng.weighted(&[(1, 12), (2, 24), (3, 22), (4, 20), (5, 13), (6, 6), (7, 3)]);
        let adults = match members {
            1 => 1,
            2 => 2,
            n => 2 + (n - 2) / 2,
        };
        let labor = if rng.chance(if members <= 2 { 0.2 } else { 0.03 }) { 0 } else { rng.range(1, adults) };
        let monitored = year >= 2020
            && match kind {
                "脱贫户" => rng.chance(0.06),
                "一般农户" => rng.chance(0.015),
                _ => false,
            };
        let monitor = match (monitored, kind) {
            (false, _) => "",
            (true, "脱贫户") => rng.weighted(&[("脱贫不稳定户", 8), ("突发严重困难户", 2)]),
            (true, _) => rng.weighted(&[("边缘易致贫户", 7), ("突发严重困难户", 3)]),
        };
        let median: f64 = match (monitored, kind) {
            (true, _) => 8_000.0,
            (_, "一般农户") => 18_000.0,
            (_, "脱贫户") => 15_000.0,
            _ => 4_500.0,
        };
        let level = 1.08f64.powi(year - 2024);
        let pci_yuan = ((median * level * (0.45 * rng.normal()).exp()) as i64).clamp(600, 200_000);
        let drop = rng.chance(1.0 / 30.0);
        let prev_yuan = if drop { pci_yuan * rng.range(150, 300) / 100 } else { pci_yuan * rng.range(88, 100) / 100 };
        let guarantees_ok = rng.chance(0.98);
        let measure_chance = match (monitored, kind) {
            (true, _) => 1.0 / 3.0,
            (_, "脱贫户") => 1.0 / 6.0,
            _ => 0.01,
        };
        let measures = (0..MEASURES).filter(|_| rng.chance(measure_chance)).fold(0u16, |m, k| m | 1 << k);
        Demo {
            seq,
            kind,
            monitor,
            // Monitoring began on 2020-03-20; a household joined it between then and the year's end.
            since: 2020 * 12 + 2 + rng.range(0, ((year.max(2020) - 2020) * 12 + 9) as i64),
            eliminated: monitored && rng.chance(0.66),
            members,
            labor,
            pci_fen: pci_yuan * 100 + rng.range(0, 99),
            prev_fen: prev_yuan * 100,
            medical: if rng.chance(0.05) { rng.range(1000, 40000) } else { 0 },
            guarantees_ok,
            grade: rng.weighted(&[("A", 60), ("B", 37), ("C", 2), ("D", 1)]),
            secured: rng.pick(&["鉴定安全", "改造安全", "", ""]),
            ill: rng.weighted(&[(0, 87), (1, 10), (2, 3)]).min(members),
            disabled: if rng.chance(0.06) { 1 } else { 0 },
            disaster: rng.chance(0.02),
            excluded: rng.chance(0.01),
            steps: rng.chance(0.7),
            measures,
            year,
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
        if d.monitor.is_empty() && self.year >= 2020 && d.kind != "贫困户" && rng.chance(0.005) {
            d.monitor = if d.kind == "脱贫户" { "脱贫不稳定户" } else { "边缘易致贫户" };
            d.since = self.year as i64 * 12 + 8;
        } else if !d.monitor.is_empty() && !d.eliminated && rng.chance(0.05) {
            d.eliminated = true;
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
            // A C/D house is secured by renovation or not at all (鉴定安全 means an A/B appraisal).
            match (self.grade, ok) {
                ("C" | "D", true) => "改造安全".into(),
                ("C" | "D", false) => String::new(),
                _ => self.secured.into(),
            },
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
        cells.extend((0..MEASURES).map(|k| if self.measures & 1 << k != 0 { "是".to_string() } else { String::new() }));
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
    for path in std::iter::once(&args.output).chain(&args.next_quarter) {
        if !args.force && std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
            anyhow::bail!("{} 已存在：demo-data 不覆盖已有文件（确要覆盖，加 --force）", path.display());
        }
    }
    let n = args.households;
    let year = args.year;
    let mut rng = Rng::new(args.seed);
    write(&args.output, (0..n).map(|i| Demo::new(i, year, &mut rng)), &mut Rng::new(args.seed ^ 1), args.messy)?;
    if let Some(next) = &args.next_quarter {
        let mut base = Rng::new(args.seed);
        let mut change = Rng::new(args.seed ^ 2);
        let mut fresh = Rng::new(args.seed ^ 4);
        let kept = (0..n).filter_map(|i| {
            let h = Demo::new(i, year, &mut base);
            (!change.chance(0.01)).then(|| h.next_quarter(&mut change))
        });
        let new = (0..n / 100).map(|i| Demo::new(n + i, year, &mut fresh));
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
        let a: Vec<String> = (0..50).map(|i| format!("{:?}", Demo::new(i, 2024, &mut Rng::new(7)))).collect();
        let b: Vec<String> = (0..50).map(|i| format!("{:?}", Demo::new(i, 2024, &mut Rng::new(7)))).collect();
        assert_eq!(a, b);
    }

    /// The shares of the period: no 贫困户 after 2020, a few monitored households, most 脱贫户
    /// above the monitoring line, household sizes and labour as documented.
    #[test]
    fn shares_follow_the_period() {
        let draw = |year: i32| -> Vec<Demo> {
            let mut rng = Rng::new(5);
            (0..20_000).map(|i| Demo::new(i, year, &mut rng)).collect()
        };
        let share =
            |hh: &[Demo], f: &dyn Fn(&Demo) -> bool| hh.iter().filter(|d| f(d)).count() as f64 / hh.len() as f64;
        let y2024 = draw(2024);
        assert_eq!(share(&y2024, &|d| d.kind == "贫困户"), 0.0);
        let monitored = share(&y2024, &|d| !d.monitor.is_empty());
        assert!((0.02..0.04).contains(&monitored), "{monitored}");
        let exited: Vec<Demo> = y2024.iter().filter(|d| d.kind == "脱贫户" && d.monitor.is_empty()).cloned().collect();
        let below = share(&exited, &|d| d.pci_fen < 600_000);
        assert!(below < 0.03, "脱贫户 below 6000: {below}");
        assert!((0.06..0.10).contains(&share(&y2024, &|d| d.labor == 0)));
        assert!((0.10..0.14).contains(&share(&y2024, &|d| d.members == 1)));
        assert!(y2024.iter().all(|d| d.labor <= d.members && d.members >= 1));
        assert!(share(&y2024, &|d| !d.monitor.is_empty() && d.measures != 0) > 0.02);
        let y2016 = draw(2016);
        assert!((0.15..0.21).contains(&share(&y2016, &|d| d.kind == "贫困户")));
        assert_eq!(share(&y2016, &|d| !d.monitor.is_empty()), 0.0, "no monitoring before 2020");
        let y2020 = draw(2020);
        assert!(y2020.iter().filter(|d| !d.monitor.is_empty()).all(|d| d.since >= 2020 * 12 + 2));
    }
}
