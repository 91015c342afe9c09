fn main() -> std::process::ExitCode {
    flexysync::cli::main()
}
