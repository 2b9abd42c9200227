//! Removes every export of a wasm module that is not on an explicit keep list, then drops
//! the code only those exports reached. The proxy-wasm host enters the VM only for the
//! callbacks a module exports, so an export the module does not need costs a VM entry on
//! every stream for nothing.
//!
//! `trim-exports KEEP_LIST IN.wasm OUT.wasm`: KEEP_LIST holds one export name a line; `#`
//! starts a comment. A listed name the module does not export is an error, so the list
//! cannot silently drift from the code. `trim-exports --list IN.wasm` prints the exports.

use std::collections::BTreeSet;
use std::process::ExitCode;

/// The export names a keep list holds: first word of each line, comments and blanks skipped.
fn parse_keep_list(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.split('#').next())
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn exports(module: &walrus::Module) -> BTreeSet<String> {
    module.exports.iter().map(|e| e.name.clone()).collect()
}

/// Deletes the exports not kept and the functions, globals and data only they used.
fn trim(module: &mut walrus::Module, keep: &BTreeSet<String>) -> Result<Vec<String>, String> {
    let present = exports(module);
    let missing: Vec<&String> = keep.difference(&present).collect();
    if !missing.is_empty() {
        return Err(format!(
            "listed but not exported by the module: {missing:?}"
        ));
    }
    let dropped: Vec<(walrus::ExportId, String)> = module
        .exports
        .iter()
        .filter(|e| !keep.contains(&e.name))
        .map(|e| (e.id(), e.name.clone()))
        .collect();
    for (id, _) in &dropped {
        module.exports.delete(*id);
    }
    walrus::passes::gc::run(module);
    Ok(dropped.into_iter().map(|(_, name)| name).collect())
}

fn run(args: &[String]) -> Result<(), String> {
    match args {
        [flag, input] if flag == "--list" => {
            let module = walrus::Module::from_file(input).map_err(|e| format!("{input}: {e}"))?;
            for name in exports(&module) {
                println!("{name}");
            }
            Ok(())
        }
        [list, input, output] => {
            let text = std::fs::read_to_string(list).map_err(|e| format!("{list}: {e}"))?;
            let keep = parse_keep_list(&text);
            let mut module =
                walrus::Module::from_file(input).map_err(|e| format!("{input}: {e}"))?;
            let dropped = trim(&mut module, &keep).map_err(|e| format!("{list}: {e}"))?;
            module
                .emit_wasm_file(output)
                .map_err(|e| format!("{output}: {e}"))?;
            println!(
                "trim-exports: kept {}, removed {}: {}",
                keep.len(),
                dropped.len(),
                dropped.join(" ")
            );
            Ok(())
        }
        _ => Err(
            "usage: trim-exports KEEP_LIST IN.wasm OUT.wasm | trim-exports --list IN.wasm".into(),
        ),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trim-exports: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_list_takes_the_first_word_and_skips_comments() {
        let keep =
            parse_keep_list("# header\n\nmemory  # linear memory\n  proxy_on_tick\t# tick\n#x\n");
        let want: BTreeSet<String> = ["memory", "proxy_on_tick"].map(String::from).into();
        assert_eq!(keep, want);
    }
}
