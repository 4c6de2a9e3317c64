//! The seed program: a Keras-style CNN on MNIST (or Fashion-MNIST), Adam 1e-3, batch 32,
//! 5 epochs, then the test accuracy.
//!
//! ```text
//! cargo run --release --example mnist                       # the seed program
//! cargo run --release --example mnist -- --dataset fashion-mnist --epochs 10
//! cargo run --release --example mnist -- --resume runs/mnist   # continue a killed run
//! cargo run --release --example mnist -- --predict runs/mnist --images 0,1,2
//! cargo run --release --example mnist -- --explain runs/mnist --images 0,1,2 --method ig,occlusion
//! ```

use std::path::PathBuf;

use clap::Parser;
use tinderbox::cli::{ExplainArgs, TrainArgs};
use tinderbox::data::vision::VisionDataset;
use tinderbox::recipes::image_classification::{self as recipe, ImageRunConfig};

tinderbox::example_main!(Args, run);

#[derive(Parser, Debug)]
#[command(
    about = "Train the seed MNIST CNN and report its test accuracy",
    version
)]
struct Args {
    /// mnist or fashion-mnist.
    #[arg(long, default_value = "mnist")]
    dataset: VisionDataset,
    /// A directory holding the four IDX files (raw or .gz) to use instead of fetching.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Train on only the first N training images.
    #[arg(long)]
    limit_train: Option<usize>,
    /// Training images held out for validation (the last ones, as Keras' validation_split).
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..))]
    valid_size: u64,
    /// Run directory.
    #[arg(long, default_value = "runs/mnist")]
    out: PathBuf,
    /// Continue the killed (or finished) run in DIR with its saved configuration; `--epochs`
    /// may extend it.
    #[arg(long, value_name = "DIR", conflicts_with = "predict")]
    resume: Option<PathBuf>,
    /// Print the top-3 classes of test images (see `--images`) with the model saved in DIR.
    #[arg(long, value_name = "DIR")]
    predict: Option<PathBuf>,
    /// Write a heatmap of why the model saved in DIR predicts what it does for each of
    /// `--images`, by each `--method`, into DIR/explanations/.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["predict", "resume"])]
    explain: Option<PathBuf>,
    /// With `--explain`: the side of the square patches that occlusion, lime and kernelshap
    /// remove (blacked out).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    patch: u64,
    /// Write the CNN saved in DIR to FILE as safetensors (for the Captum comparison,
    /// benches/compare/explain_reference.py --mnist).
    #[arg(long, num_args = 2, value_names = ["DIR", "FILE"])]
    export_weights: Option<Vec<PathBuf>>,
    #[command(flatten)]
    how: ExplainArgs,
    /// Test-set indices for `--predict` and `--explain`.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2,3,4")]
    images: Vec<usize>,
    #[command(flatten)]
    train: TrainArgs,
}

fn run(args: Args) -> Result<(), tinderbox::Error> {
    if let Some([dir, file]) = args.export_weights.as_deref() {
        return recipe::export_weights(dir, file);
    }
    if let Some(dir) = &args.explain {
        let out = dir.join("explanations");
        let config = args.how.config(args.how.method[0], args.train.optim.seed);
        let found = recipe::explain(
            dir,
            &args.images,
            &args.how.method,
            &config,
            args.patch as usize,
            &out,
        )?;
        for e in &found {
            println!(
                "test image {} (label {}): {} {:.4} by {} (black image {:.4}{}) -> {}",
                e.index,
                e.label,
                e.predicted,
                e.probability,
                e.method,
                e.baseline_score,
                e.completeness_gap
                    .map_or(String::new(), |g| format!(", completeness gap {g:+.4}")),
                e.png.display()
            );
        }
        tinderbox::train::RunDir::create(&out)?.write_json("summary.json", &found)?;
        return Ok(());
    }
    if let Some(dir) = &args.predict {
        for p in recipe::predict(dir, &args.images, 3)? {
            let top: Vec<String> = p
                .top
                .iter()
                .map(|(c, prob)| format!("{c} {prob:.4}"))
                .collect();
            println!(
                "test image {} (label {}): {}",
                p.index,
                p.label,
                top.join(", ")
            );
        }
        return Ok(());
    }
    let (config, out, resume) = match &args.resume {
        Some(dir) => {
            let mut config = recipe::load_run_config(dir)?;
            if let Some(epochs) = args.train.epochs {
                config.train.epochs = epochs as usize;
            }
            (config, dir.clone(), true)
        }
        None => {
            let mut config = ImageRunConfig {
                dataset: args.dataset,
                data_dir: args.data_dir,
                valid_size: args.valid_size as usize,
                limit_train: args.limit_train,
                ..ImageRunConfig::default()
            };
            args.train.apply(&mut config.train);
            (config, args.out, false)
        }
    };
    let summary = recipe::train_and_test(&config, &out, resume)?;
    println!(
        "test accuracy {:.4}, test loss {:.4} after {} epochs ({:.1} s, backend {})",
        summary.test_accuracy,
        summary.test_loss,
        summary.epochs,
        summary.train_seconds,
        summary.backend
    );
    println!(
        "run directory: {} (summary.json, metrics.csv, curves.png)",
        out.display()
    );
    Ok(())
}
