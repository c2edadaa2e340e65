// freestanding: the hook every freestanding image defines for fatal runtime errors.
#pragma once

[[noreturn]] void freestanding_fatal(const char* what);
