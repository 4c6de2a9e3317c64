//! Distilling a saved run into a new one: the teacher's logits for the student's training texts,
//! computed once with the teacher's own tokenizer and model and cached in the student's run
//! directory (`teacher_logits.json`), so that a resumed run does not compute them again.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tinderbox_data::text::LabeledTexts;
use tinderbox_heads::Distillation;
use tinderbox_train::RunDir;

use super::config::TeacherConfig;
use super::predict::SavedClassifier;
use crate::Error;

/// The cache file in the student's run directory.
pub const TEACHER_LOGITS_FILE: &str = "teacher_logits.json";

#[derive(Serialize, Deserialize)]
struct TeacherLogits {
    teacher: PathBuf,
    class_names: Vec<String>,
    texts: usize,
    logits: Vec<Vec<f32>>,
}

/// The teacher's logits for each of `train`'s texts, in order, from `run`'s cache when it holds
/// them for this teacher and these texts. A teacher whose classes are not `class_names` (the
/// same names in the same order) is an error naming both.
pub fn teacher_logits(
    teacher: &TeacherConfig,
    train: &LabeledTexts,
    class_names: &[String],
    run: &RunDir,
) -> Result<Vec<Vec<f32>>, Error> {
    let Distillation { temperature, alpha } = teacher.distillation;
    if !(temperature.is_finite() && temperature > 0.0 && (0.0..=1.0).contains(&alpha)) {
        return Err(Error::Invalid(format!(
            "distillation needs a temperature above 0 and an alpha in [0, 1]; got {temperature} and {alpha}"
        )));
    }
    let cache = run.file(TEACHER_LOGITS_FILE);
    if cache.is_file() {
        let cached: TeacherLogits = run.read_json(TEACHER_LOGITS_FILE)?;
        if cached.teacher == teacher.dir
            && cached.class_names == class_names
            && cached.texts == train.len()
        {
            return Ok(cached.logits);
        }
    }
    let saved = SavedClassifier::open(&teacher.dir)?;
    if saved.class_names() != class_names {
        return Err(Error::Invalid(format!(
            "the teacher run {} classifies {:?}; this task's classes are {:?}",
            teacher.dir.display(),
            saved.class_names(),
            class_names
        )));
    }
    let texts: Vec<&str> = train.texts.iter().map(String::as_str).collect();
    let logits = saved.logits(&texts)?;
    run.write_json(
        TEACHER_LOGITS_FILE,
        &TeacherLogits {
            teacher: teacher.dir.clone(),
            class_names: class_names.to_vec(),
            texts: train.len(),
            logits: logits.clone(),
        },
    )?;
    Ok(logits)
}
