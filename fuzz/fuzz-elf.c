/*
 * fuzz/fuzz-elf.c - libFuzzer target for the KVM engine's payload loader
 * (hv_elf_parse() and hv_elf_load() in lib/kvm/loader.h). A rejected file
 * leaves an HV_E_PARSE error that matches the return and an empty image. An
 * accepted one has 1..HV_ELF_MAX_SEGMENTS non-empty, non-overlapping
 * segments inside the file, its entry in an executable one and base/end
 * that bound them; when it fits a fixed two-node layout it is loaded into a
 * fake guest memory, which must then hold exactly its bytes and zeroed
 * tails, with nothing written outside its segments.
 */
#include "fuzz.h"
#include "kvm/bootinfo.h"
#include "kvm/layout.h"
#include "kvm/loader.h"

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/error.h>
#include <hpcvirt/guest.h>

#define FILL 0xa5

/* Guest memory for [base, base + bytes) only: the placed image's pages. */
typedef struct fake_guest {
    const hv_kvm_layout *layout;
    uint8_t *mem;
    uint64_t base, bytes;
} fake_guest;

static uint8_t *guest_ptr(void *ctx, uint64_t addr, uint64_t bytes)
{
    fake_guest *g = ctx;

    /* the loader asks only for what the image covers, inside node 0 */
    CHECK(hv_kvm_layout_node_of(g->layout, addr, bytes) == 0);
    CHECK(addr >= g->base && bytes <= g->bytes && addr - g->base <= g->bytes - bytes);
    return g->mem + (addr - g->base);
}

static void check_image(const hv_elf_image *image, size_t size)
{
    uint64_t base = UINT64_MAX, end = 0;
    bool has_entry = false;

    CHECK(image->segment_count >= 1 && image->segment_count <= HV_ELF_MAX_SEGMENTS);
    for (size_t i = 0; i < image->segment_count; i++) {
        const hv_elf_segment *s = &image->segments[i];

        CHECK(s->mem_bytes > 0 && s->file_bytes <= s->mem_bytes);
        CHECK(s->file_offset <= size && s->file_bytes <= size - s->file_offset);
        CHECK(s->addr + s->mem_bytes > s->addr);
        CHECK(s->addr >= image->base && s->addr + s->mem_bytes <= image->end);
        for (size_t j = 0; j < i; j++) {
            const hv_elf_segment *t = &image->segments[j];

            CHECK(s->addr >= t->addr + t->mem_bytes || t->addr >= s->addr + s->mem_bytes);
        }
        if (s->addr < base)
            base = s->addr;
        if (s->addr + s->mem_bytes > end)
            end = s->addr + s->mem_bytes;
        if ((s->flags & PF_X) && image->entry >= s->addr && image->entry - s->addr < s->mem_bytes)
            has_entry = true;
    }
    CHECK(image->base == base && image->end == end);
    CHECK(has_entry);
}

/* Whether a byte of guest memory belongs to one of the image's segments. */
static bool in_segment(const hv_elf_image *image, uint64_t addr)
{
    for (size_t i = 0; i < image->segment_count; i++)
        if (addr >= image->segments[i].addr &&
            addr - image->segments[i].addr < image->segments[i].mem_bytes)
            return true;
    return false;
}

static void load(const uint8_t *data, size_t size, const hv_elf_image *image,
                 const hv_kvm_layout *layout)
{
    fake_guest g = {.layout = layout,
                    .base = layout->image_base,
                    .bytes = layout->image_end - layout->image_base};

    g.mem = malloc(g.bytes);
    if (!g.mem)
        return;
    memset(g.mem, FILL, g.bytes);
    CHECK(hv_elf_load(data, size, image, guest_ptr, &g) == 0);
    for (size_t i = 0; i < image->segment_count; i++) {
        const hv_elf_segment *s = &image->segments[i];
        const uint8_t *at = g.mem + (s->addr - g.base);

        CHECK(memcmp(at, data + s->file_offset, s->file_bytes) == 0);
        for (uint64_t k = s->file_bytes; k < s->mem_bytes; k++)
            CHECK(at[k] == 0);
        /* the bytes next to a segment are untouched unless another segment has them */
        if (s->addr > g.base && !in_segment(image, s->addr - 1))
            CHECK(at[-1] == FILL);
        if (s->addr + s->mem_bytes < g.base + g.bytes && !in_segment(image, s->addr + s->mem_bytes))
            CHECK(at[s->mem_bytes] == FILL);
    }
    free(g.mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* node 0: 8 MiB, 2 vCPUs; node 1: 4 MiB, 2 vCPUs (bases 0 and 8 MiB) */
    static const hv_kvm_node_request nodes[2] = {
        {.bytes = 8u << 20, .vcpu_count = 2, .page_bytes = 4096, .host_node = -1},
        {.bytes = 4u << 20, .vcpu_count = 2, .page_bytes = 2u << 20, .host_node = -1},
    };
    uint8_t boot[HV_GUEST_BOOT_INFO_MAX_BYTES];
    hv_kvm_layout layout;
    hv_elf_image image;
    size_t written = 0;
    int rc;

    hv_error_clear();
    rc = hv_elf_parse(data, size, "fuzz.elf", &image);
    if (rc < 0) {
        CHECK(rc == HV_E_PARSE);
        CHECK(hv_error_code_of(hv_error_last()) == rc);
        CHECK(strncmp(hv_error_message(hv_error_last()), "fuzz.elf: ", 10) == 0);
        CHECK(image.segment_count == 0);
        return 0;
    }
    CHECK(rc == 0);
    check_image(&image, size);

    CHECK(hv_kvm_layout_init(&layout, nodes, 2) == 0);
    rc = hv_kvm_layout_place_image(&layout, image.base, image.end);
    if (rc < 0) {
        CHECK(rc == HV_E_RANGE);
        CHECK(hv_error_code_of(hv_error_last()) == rc);
        CHECK(layout.image_base == 0 && layout.image_end == 0);
        /* it does not fit: it must lie outside [LOAD_MIN, node 0's stacks) */
        CHECK(image.base < HV_GUEST_LOAD_MIN || image.end > layout.nodes[0].stacks_base);
        return 0;
    }
    CHECK(layout.image_base <= image.base && layout.image_end >= image.end);
    CHECK(layout.image_base % 4096 == 0 && layout.image_end % 4096 == 0);
    CHECK(layout.image_base >= HV_GUEST_LOAD_MIN);
    CHECK(layout.image_end <= layout.nodes[0].stacks_base);
    CHECK(layout.nodes[0].free_base == layout.image_end);
    CHECK(layout.nodes[0].free_base + layout.nodes[0].free_bytes == layout.nodes[0].stacks_base);

    load(data, size, &image, &layout);

    CHECK(hv_bootinfo_write(boot, sizeof(boot), &layout, 0, 0, &written) == 0);
    CHECK(written == sizeof(hv_guest_boot_info) + 2 * sizeof(hv_guest_boot_node));
    return 0;
}
