// src/main.cpp — the ballast binary: everything it does starts in cli/.
#include "cli/commands.h"

int main(int argc, char** argv) { return ballast::cli::main(argc, argv); }
