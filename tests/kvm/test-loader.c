/*
 * tests/kvm/test-loader.c - the ELF64 payload loader: files built here in
 * memory (an Elf64_Ehdr, program headers, contents), every refusal with the
 * field it names, and a load into a fake guest memory (bytes copied, the
 * bss zeroed, nothing else touched). A file name that holds escape
 * sequences or bytes that are not UTF-8 is shown escaped.
 */
#include "hv-test.h"
#include "core/text.h"
#include "kvm/loader.h"

#include <elf.h>
#include <hpcvirt/guest.h>

#define FILE_BYTES 0x3000u
#define MAX_PHDRS  24

/* A payload under construction: header fields and program headers, then bytes. */
typedef struct test_elf {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[MAX_PHDRS];
    size_t nph;
    uint8_t file[FILE_BYTES];
    size_t size;
} test_elf;

static Elf64_Phdr phdr(uint32_t type, uint64_t offset, uint64_t vaddr, uint64_t filesz,
                       uint64_t memsz, uint32_t flags)
{
    Elf64_Phdr p;

    memset(&p, 0, sizeof(p));
    p.p_type = type;
    p.p_offset = offset;
    p.p_vaddr = vaddr;
    p.p_paddr = vaddr;
    p.p_filesz = filesz;
    p.p_memsz = memsz;
    p.p_flags = flags;
    p.p_align = 0x1000;
    return p;
}

/*
 * A good payload: text at 0x400000 (0x1234 bytes from offset 0x1000), data at
 * 0x402000 (0x100 bytes from 0x2000, 0x3000 in memory: the rest is bss), a
 * PT_NOTE and a PT_GNU_STACK that the loader ignores.
 */
static void good_elf(test_elf *t)
{
    memset(t, 0, sizeof(*t));
    memcpy(t->eh.e_ident, ELFMAG, SELFMAG);
    t->eh.e_ident[EI_CLASS] = ELFCLASS64;
    t->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    t->eh.e_ident[EI_VERSION] = EV_CURRENT;
    t->eh.e_type = ET_EXEC;
    t->eh.e_machine = EM_X86_64;
    t->eh.e_version = EV_CURRENT;
    t->eh.e_entry = 0x400010;
    t->eh.e_phoff = sizeof(Elf64_Ehdr);
    t->eh.e_ehsize = sizeof(Elf64_Ehdr);
    t->eh.e_phentsize = sizeof(Elf64_Phdr);
    t->ph[0] = phdr(PT_LOAD, 0x1000, 0x400000, 0x1234, 0x1234, PF_R | PF_X);
    t->ph[1] = phdr(PT_NOTE, 0x1100, 0x400100, 0x20, 0x20, PF_R);
    t->ph[2] = phdr(PT_LOAD, 0x2000, 0x402000, 0x100, 0x3000, PF_R | PF_W);
    t->ph[3] = phdr(PT_GNU_STACK, 0, 0, 0, 0, PF_R | PF_W);
    t->nph = 4;
    t->size = FILE_BYTES;
    for (size_t i = 0x1000; i < FILE_BYTES; i++)
        t->file[i] = (uint8_t)(i * 7 + 1);
}

/* Write the header and program headers into the file bytes; the file. */
static const uint8_t *build(test_elf *t)
{
    t->eh.e_phnum = (Elf64_Half)t->nph;
    memcpy(t->file, &t->eh, sizeof(t->eh));
    assert_true(sizeof(t->eh) + t->nph * sizeof(Elf64_Phdr) <= 0x1000);
    memcpy(t->file + sizeof(t->eh), t->ph, t->nph * sizeof(Elf64_Phdr));
    return t->file;
}

static int parse(test_elf *t, hv_elf_image *image)
{
    build(t);
    return hv_elf_parse(t->file, t->size, "t.elf", image);
}

/* Parse must fail with HV_E_PARSE, naming the file, with `text` in the message. */
static void refuse(test_elf *t, const char *text)
{
    hv_elf_image image;
    int rc = parse(t, &image);

    if (rc != HV_E_PARSE || !strstr(hv_error_message(hv_error_last()), text))
        print_error("expected \"%s\", got %d: %s\n", text, rc, hv_error_message(hv_error_last()));
    assert_hv_error(rc, HV_E_PARSE);
    assert_error_mentions(text);
    assert_non_null(strstr(hv_error_message(hv_error_last()), "t.elf: "));
    assert_string_equal(hv_error_path(hv_error_last()), "t.elf");
    assert_int_equal(image.segment_count, 0);
}

static void test_parse_good(void **state)
{
    test_elf t;
    hv_elf_image image;

    good_elf(&t);
    assert_hv_ok(parse(&t, &image));
    assert_true(image.entry == 0x400010);
    assert_int_equal(image.segment_count, 2);
    assert_true(image.segments[0].file_offset == 0x1000);
    assert_true(image.segments[0].file_bytes == 0x1234);
    assert_true(image.segments[0].addr == 0x400000);
    assert_true(image.segments[0].mem_bytes == 0x1234);
    assert_int_equal(image.segments[0].flags, PF_R | PF_X);
    assert_true(image.segments[1].file_offset == 0x2000);
    assert_true(image.segments[1].file_bytes == 0x100);
    assert_true(image.segments[1].addr == 0x402000);
    assert_true(image.segments[1].mem_bytes == 0x3000);
    assert_int_equal(image.segments[1].flags, PF_R | PF_W);
    assert_true(image.base == 0x400000);
    assert_true(image.end == 0x405000);
}

/* Segments out of order, an empty PT_LOAD, an unaligned buffer, no name. */
static void test_parse_variants(void **state)
{
    static test_elf t;
    static uint8_t shifted[FILE_BYTES + 1];
    hv_elf_image image;

    good_elf(&t);
    t.ph[1] = t.ph[0];
    t.ph[0] = t.ph[2];
    t.ph[2] = phdr(PT_LOAD, 0, 0x100000, 0, 0, PF_R); /* empty: ignored */
    assert_hv_ok(parse(&t, &image));
    assert_int_equal(image.segment_count, 2);
    assert_true(image.segments[0].addr == 0x402000);
    assert_true(image.base == 0x400000 && image.end == 0x405000);

    /* the entry may be the last byte of the executable segment */
    good_elf(&t);
    t.eh.e_entry = 0x401233;
    assert_hv_ok(parse(&t, &image));

    /* adjacent segments do not overlap */
    good_elf(&t);
    t.ph[2].p_vaddr = 0x401234;
    assert_hv_ok(parse(&t, &image));
    assert_true(image.end == 0x404234);

    good_elf(&t);
    build(&t);
    memcpy(shifted + 1, t.file, t.size);
    assert_hv_ok(hv_elf_parse(shifted + 1, t.size, NULL, &image));
    assert_int_equal(image.segment_count, 2);

    /* with no name, messages say "payload" */
    good_elf(&t);
    t.eh.e_machine = EM_386;
    build(&t);
    assert_hv_error(hv_elf_parse(t.file, t.size, NULL, &image), HV_E_PARSE);
    assert_error_mentions("payload: ELF header: e_machine is 3, not x86-64 (62)");

    /* exactly HV_ELF_MAX_SEGMENTS */
    good_elf(&t);
    t.eh.e_entry = 0x400000;
    t.nph = HV_ELF_MAX_SEGMENTS;
    for (size_t i = 0; i < t.nph; i++)
        t.ph[i] = phdr(PT_LOAD, 0x1000, 0x400000 + i * 0x1000, 0x10, 0x10, PF_R | PF_X);
    assert_hv_ok(parse(&t, &image));
    assert_int_equal(image.segment_count, HV_ELF_MAX_SEGMENTS);
    assert_true(image.end == 0x40f010);
}

static void test_header_refusals(void **state)
{
    static test_elf t;
    hv_elf_image image;

    good_elf(&t);
    build(&t);
    assert_hv_error(hv_elf_parse(t.file, sizeof(Elf64_Ehdr) - 1, "t.elf", &image), HV_E_PARSE);
    assert_error_mentions("t.elf: 63 bytes is too short for an ELF header (64 bytes)");
    assert_hv_error(hv_elf_parse(NULL, 0, "t.elf", &image), HV_E_PARSE);
    assert_error_mentions("0 bytes is too short");
    assert_hv_error(hv_elf_parse(NULL, 10, "t.elf", &image), HV_E_INVAL);
    assert_hv_error(hv_elf_parse(t.file, t.size, "t.elf", NULL), HV_E_INVAL);

    good_elf(&t);
    t.eh.e_ident[0] = 0;
    refuse(&t, "not an ELF file (it starts with 00 45 4c 46, not 7f 45 4c 46)");
    good_elf(&t);
    t.eh.e_ident[EI_CLASS] = ELFCLASS32;
    refuse(&t, "ELF header: EI_CLASS is 1, not ELFCLASS64 (2)");
    good_elf(&t);
    t.eh.e_ident[EI_DATA] = ELFDATA2MSB;
    refuse(&t, "ELF header: EI_DATA is 2, not little-endian");
    good_elf(&t);
    t.eh.e_ident[EI_VERSION] = 0;
    refuse(&t, "ELF header: version is 0/1, not EV_CURRENT (1)");
    good_elf(&t);
    t.eh.e_version = 2;
    refuse(&t, "ELF header: version is 1/2");
    good_elf(&t);
    t.eh.e_type = ET_DYN;
    refuse(&t, "ELF header: e_type is 3 (ET_DYN, a shared object or PIE), not ET_EXEC (2)");
    good_elf(&t);
    t.eh.e_type = ET_REL;
    refuse(&t, "e_type is 1 (ET_REL, an object file)");
    good_elf(&t);
    t.eh.e_type = 0x1234;
    refuse(&t, "e_type is 4660 (unknown)");
    good_elf(&t);
    t.eh.e_machine = EM_AARCH64;
    refuse(&t, "ELF header: e_machine is 183, not x86-64 (62)");
    good_elf(&t);
    t.eh.e_phentsize = 32;
    refuse(&t, "ELF header: e_phentsize is 32, not 56");

    /* program headers outside the file */
    good_elf(&t);
    t.eh.e_phoff = FILE_BYTES - 100;
    refuse(&t, "ELF header: e_phoff 0x2f9c + 4 program headers of 56 bytes runs past the end of "
               "the 12288-byte file");
    good_elf(&t);
    t.eh.e_phoff = UINT64_MAX - 8;
    refuse(&t, "e_phoff 0xfffffffffffffff7");
    good_elf(&t);
    t.eh.e_phoff = FILE_BYTES;
    refuse(&t, "runs past the end");
    good_elf(&t);
    build(&t);
    t.eh.e_phnum = PN_XNUM;
    memcpy(t.file, &t.eh, sizeof(t.eh));
    assert_hv_error(hv_elf_parse(t.file, t.size, "t.elf", &image), HV_E_PARSE);
    assert_error_mentions("e_phnum is 0xffff (extended numbering)");
    /* program headers elsewhere in the file; cut off by a short file */
    good_elf(&t);
    build(&t);
    memmove(t.file + 0x800, t.file + sizeof(Elf64_Ehdr), 4 * sizeof(Elf64_Phdr));
    t.eh.e_phoff = 0x800;
    t.eh.e_phnum = 4;
    memcpy(t.file, &t.eh, sizeof(t.eh));
    assert_hv_ok(hv_elf_parse(t.file, t.size, "t.elf", &image));
    assert_hv_error(hv_elf_parse(t.file, 0x800 + 4 * sizeof(Elf64_Phdr) - 1, "t.elf", &image),
                    HV_E_PARSE);
    assert_error_mentions("e_phoff 0x800 + 4 program headers");
}

static void test_segment_refusals(void **state)
{
    static test_elf t;

    good_elf(&t);
    t.ph[2].p_filesz = 0x5000;
    t.ph[2].p_memsz = 0x5000;
    refuse(&t, "t.elf: program header 2: p_offset 0x2000 + p_filesz 0x5000 runs past the end of "
               "the 12288-byte file");
    good_elf(&t);
    t.ph[0].p_offset = UINT64_MAX - 0x10;
    refuse(&t, "program header 0: p_offset 0xffffffffffffffef + p_filesz 0x1234 runs past");
    good_elf(&t);
    t.ph[2].p_offset = FILE_BYTES + 1;
    t.ph[2].p_filesz = 0;
    refuse(&t, "program header 2: p_offset 0x3001 + p_filesz 0x0 runs past the end");
    good_elf(&t);
    t.ph[2].p_filesz = 0x3001;
    refuse(&t, "program header 2: p_filesz 0x3001 is larger than p_memsz 0x3000");
    good_elf(&t);
    t.ph[2].p_vaddr = UINT64_MAX - 0x1000;
    refuse(&t, "program header 2: p_vaddr 0xffffffffffffefff + p_memsz 0x3000 wraps around");
    good_elf(&t);
    t.ph[2].p_vaddr = 0x401000;
    refuse(&t, "program headers 0 and 2 overlap in memory ([0x400000, 0x401234) and [0x401000, "
               "0x404000))");
    good_elf(&t);
    t.ph[2].p_vaddr = 0x3ff000; /* its bss runs into the text */
    refuse(&t, "program headers 0 and 2 overlap");
    good_elf(&t);
    t.ph[1] = t.ph[0];
    refuse(&t, "program headers 0 and 1 overlap");

    good_elf(&t);
    t.eh.e_entry = 0x402000;
    refuse(&t, "ELF header: e_entry 0x402000 is not inside an executable (PF_X) segment");
    good_elf(&t);
    t.eh.e_entry = 0x401234;
    refuse(&t, "e_entry 0x401234 is not inside");
    good_elf(&t);
    t.eh.e_entry = 0x3fffff;
    refuse(&t, "e_entry 0x3fffff is not inside");
    good_elf(&t);
    t.eh.e_entry = 0x400100; /* in the PT_NOTE's range, but that is not loaded */
    t.ph[0].p_flags = PF_R;
    refuse(&t, "e_entry 0x400100 is not inside");

    good_elf(&t);
    t.ph[3] = phdr(PT_INTERP, 0x1100, 0x400100, 0x1c, 0x1c, PF_R);
    refuse(&t, "program header 3 is PT_INTERP: a payload must be static");
    good_elf(&t);
    t.ph[1] = phdr(PT_DYNAMIC, 0x2000, 0x402000, 0x100, 0x100, PF_R | PF_W);
    refuse(&t, "program header 1 is PT_DYNAMIC: a payload must be static");

    good_elf(&t);
    t.nph = HV_ELF_MAX_SEGMENTS + 1;
    for (size_t i = 0; i < t.nph; i++)
        t.ph[i] = phdr(PT_LOAD, 0x1000, 0x400000 + i * 0x1000, 0x10, 0x10, PF_R | PF_X);
    refuse(&t, "program header 16: more than 16 PT_LOAD segments");

    good_elf(&t);
    t.ph[0].p_type = PT_NOTE;
    t.ph[2].p_type = PT_NOTE;
    refuse(&t, "no PT_LOAD segment with contents");
    good_elf(&t);
    t.nph = 0;
    refuse(&t, "no PT_LOAD segment");
    good_elf(&t);
    t.ph[0].p_memsz = t.ph[0].p_filesz = 0;
    t.ph[2].p_memsz = t.ph[2].p_filesz = 0;
    refuse(&t, "no PT_LOAD segment");
}

/* Guest memory for the loader: [0, bytes), filled with 0xaa to see what it writes. */
typedef struct fake_guest {
    uint8_t *mem;
    uint64_t bytes;
    uint64_t refuse_from; /* ranges reaching this address get NULL */
    unsigned int calls;
} fake_guest;

static uint8_t *fake_ptr(void *ctx, uint64_t addr, uint64_t bytes)
{
    fake_guest *g = ctx;

    g->calls++;
    if (addr > g->bytes || bytes > g->bytes - addr || addr + bytes > g->refuse_from)
        return NULL;
    return g->mem + addr;
}

static void test_load(void **state)
{
    static test_elf t;
    hv_kvm_node_request nodes[2] = {{.bytes = 8u << 20, .vcpu_count = 2, .page_bytes = 4096},
                                    {.bytes = 8u << 20, .vcpu_count = 2, .page_bytes = 4096}};
    fake_guest g = {.bytes = 16u << 20, .refuse_from = UINT64_MAX};
    hv_kvm_layout layout;
    hv_elf_image image;

    good_elf(&t);
    assert_hv_ok(parse(&t, &image));
    assert_hv_ok(hv_kvm_layout_init(&layout, nodes, 2));
    assert_hv_ok(hv_kvm_layout_place_image(&layout, image.base, image.end));
    assert_true(layout.image_base == 0x400000 && layout.image_end == 0x405000);

    g.mem = malloc(g.bytes);
    assert_non_null(g.mem);
    memset(g.mem, 0xaa, g.bytes);
    assert_hv_ok(hv_elf_load(t.file, t.size, &image, fake_ptr, &g));
    assert_int_equal(g.calls, 2);
    assert_memory_equal(g.mem + 0x400000, t.file + 0x1000, 0x1234);
    assert_memory_equal(g.mem + 0x402000, t.file + 0x2000, 0x100);
    for (size_t a = 0x402100; a < 0x405000; a++)
        assert_int_equal(g.mem[a], 0);
    /* nothing outside the segments is touched */
    assert_int_equal(g.mem[0x3fffff], 0xaa);
    for (size_t a = 0x401234; a < 0x402000; a++)
        assert_int_equal(g.mem[a], 0xaa);
    assert_int_equal(g.mem[0x405000], 0xaa);

    /* a segment the guest memory does not have */
    g.refuse_from = 0x403000;
    assert_hv_error(hv_elf_load(t.file, t.size, &image, fake_ptr, &g), HV_E_RANGE);
    assert_error_mentions("payload segment 1 [0x402000, 0x405000) is not inside the guest's RAM");
    free(g.mem);
}

static uint8_t *never_called(void *ctx, uint64_t addr, uint64_t bytes)
{
    fail_msg("guest_ptr called for [0x%llx, +0x%llx)", (unsigned long long)addr,
             (unsigned long long)bytes);
    return NULL;
}

/* Images that do not match the file are refused before anything is copied. */
static void test_load_refusals(void **state)
{
    static test_elf t;
    hv_elf_image image, bad;

    good_elf(&t);
    assert_hv_ok(parse(&t, &image));

    bad = image;
    bad.entry = 0x402000;
    assert_hv_error(hv_elf_load(t.file, t.size, &bad, never_called, NULL), HV_E_RANGE);
    assert_error_mentions("entry point 0x402000 is not inside an executable segment");
    bad = image;
    bad.segments[1].file_offset = FILE_BYTES - 0xff;
    assert_hv_error(hv_elf_load(t.file, t.size, &bad, never_called, NULL), HV_E_RANGE);
    assert_error_mentions("payload segment 1 (0x100 bytes from file offset 0x2f01) does not "
                          "match the 12288-byte file");
    bad = image;
    bad.segments[1].file_offset = UINT64_MAX;
    assert_hv_error(hv_elf_load(t.file, t.size, &bad, never_called, NULL), HV_E_RANGE);
    bad = image;
    bad.segments[1].file_bytes = 0x3001;
    assert_hv_error(hv_elf_load(t.file, t.size, &bad, never_called, NULL), HV_E_RANGE);
    bad = image;
    bad.segments[1].addr = UINT64_MAX - 0x10;
    assert_hv_error(hv_elf_load(t.file, t.size, &bad, never_called, NULL), HV_E_RANGE);
    assert_hv_error(hv_elf_load(t.file, 0x2000, &image, never_called, NULL), HV_E_RANGE);
    bad = image;
    bad.segment_count = 0;
    assert_hv_error(hv_elf_load(t.file, t.size, &bad, never_called, NULL), HV_E_RANGE);
    bad.segment_count = HV_ELF_MAX_SEGMENTS + 1;
    assert_hv_error(hv_elf_load(t.file, t.size, &bad, never_called, NULL), HV_E_RANGE);

    assert_hv_error(hv_elf_load(NULL, t.size, &image, never_called, NULL), HV_E_INVAL);
    assert_hv_error(hv_elf_load(t.file, t.size, NULL, never_called, NULL), HV_E_INVAL);
    assert_hv_error(hv_elf_load(t.file, t.size, &image, NULL, NULL), HV_E_INVAL);
}

/* The caller's name for the file (a path) is quoted: no byte of it acts on a terminal. */
static void test_hostile_name(void **state)
{
    static const char name[] = "/tmp/pay\x1b[2J\x1b]0;pwned\x07\xe2\x80\xaeload\xff.elf\xc3";
    static const char escaped[] =
        "/tmp/pay\\u001b[2J\\u001b]0;pwned\\u0007\\u202eload\\xff.elf\\xc3: ";
    static test_elf t;
    hv_elf_image image;
    const char *message;

    good_elf(&t);
    t.eh.e_machine = EM_AARCH64;
    build(&t);
    assert_hv_error(hv_elf_parse(t.file, t.size, name, &image), HV_E_PARSE);
    message = hv_error_message(hv_error_last());
    if (hv_text_unprintable_at(message, strlen(message)) != strlen(message))
        print_error("a raw control or non-UTF-8 byte in: %s\n", message);
    assert_int_equal(hv_text_unprintable_at(message, strlen(message)), strlen(message));
    assert_memory_equal(message, escaped, strlen(escaped));
    assert_error_mentions("e_machine is 183");
    assert_string_equal(hv_error_path(hv_error_last()), name);
    /* a plain name is shown as it is; no name is "payload" */
    assert_hv_error(hv_elf_parse(t.file, t.size, "dir/hello.elf", &image), HV_E_PARSE);
    assert_error_mentions("dir/hello.elf: ELF header: e_machine");
    assert_hv_error(hv_elf_parse(t.file, t.size, NULL, &image), HV_E_PARSE);
    assert_error_mentions("payload: ELF header: e_machine");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_variants),
        cmocka_unit_test(test_header_refusals),
        cmocka_unit_test(test_segment_refusals),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_load_refusals),
        cmocka_unit_test(test_hostile_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
