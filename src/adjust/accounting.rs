//! The accounting of an `adjust` run: every household of either snapshot is matched, new, gone or
//! repeated, and the counts add up.

/// The accounting of one run; it must add up (checked before anything is written).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Accounting {
    pub previous_rows: u64,
    pub current_rows: u64,
    pub matched: u64,
    pub new: u64,
    pub gone: u64,
    pub duplicated_previous_rows: u64,
    pub duplicated_current_rows: u64,
    pub households_with_problems: u64,
    /// Blank rows skipped (no household; outside the sums above).
    pub blank_previous_rows: u64,
    pub blank_current_rows: u64,
    /// Rows of the previous snapshot evaluated on their own (gone, or a repeated id).
    pub previous_only_evaluated: u64,
    /// Current rows on no list (unchanged), and previous-only rows on no list.
    pub current_unlisted: u64,
    pub previous_unlisted: u64,
}

impl Accounting {
    /// Every row of either snapshot is matched, new, gone or repeated, and every row not matched
    /// with a current one was evaluated on its own (on a list, or counted as unchanged).
    pub fn adds_up(&self) -> bool {
        self.previous_rows == self.matched + self.gone + self.duplicated_previous_rows
            && self.current_rows == self.matched + self.new + self.duplicated_current_rows
            && self.previous_only_evaluated == self.gone + self.duplicated_previous_rows
            && self.current_unlisted <= self.current_rows
            && self.previous_unlisted <= self.previous_only_evaluated
    }

    /// (item key, Chinese label, count), in the order of 汇总.
    pub fn items(&self) -> Vec<(&'static str, &'static str, u64)> {
        vec![
            ("previous_rows", "上季度户数（行）", self.previous_rows),
            ("current_rows", "本季度户数（行）", self.current_rows),
            ("matched", "两季度均有", self.matched),
            ("new", "新增户", self.new),
            ("gone", "减少户", self.gone),
            ("duplicated_previous_rows", "上季度户编号重复（任一季度）的行", self.duplicated_previous_rows),
            ("duplicated_current_rows", "本季度户编号重复（任一季度）的行", self.duplicated_current_rows),
            ("households_with_problems", "本季度有数据问题的户", self.households_with_problems),
            ("blank_previous_rows", "上季度空白行（已跳过）", self.blank_previous_rows),
            ("blank_current_rows", "本季度空白行（已跳过）", self.blank_current_rows),
        ]
    }
}
