/* For the wine test only (.ci/wine-test): wine 8 (Debian 12) has no ProcessPrng in
   bcryptprimitives.dll, which Rust's standard library calls on Windows 10 and later. This DLL,
   placed beside tuopin.exe, exports it through advapi32's RtlGenRandom (SystemFunction036).
   Real Windows has ProcessPrng; the release never ships this file. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG n = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, n)) {
            return FALSE;
        }
        data += n;
        length -= n;
    }
    return TRUE;
}
