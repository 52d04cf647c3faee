fn main() {
    std::process::exit(wasmsieve::cli::main());
}
