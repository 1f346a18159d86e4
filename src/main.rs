fn main() -> std::process::ExitCode {
    lava_deploy::main()
}
