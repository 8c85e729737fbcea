/* quickstart.c - the README's C example: versions and error handling. */
#include <stdio.h>
#include <hpcvirt/hpcvirt.h>

int main(void)
{
    uint64_t bytes;
    char text[32];

    printf("hpcvirt %s (built against %s)\n", hv_version(), HPCVIRT_VERSION_STRING);
    if (hv_size_parse("1.5TiB", &bytes) == 0) {
        hv_size_format(bytes, text, sizeof(text));
        printf("1.5TiB = %llu bytes = %s\n", (unsigned long long)bytes, text);
    }
    /* Every failure returns a negative HV_E_* code and records what to do. */
    if (hv_size_parse("lots", &bytes) < 0) {
        const hv_error *err = hv_error_last();
        printf("error %s: %s\n", hv_error_code_name(hv_error_code_of(err)), hv_error_message(err));
    }
    return 0;
}
