/* placeholder: the POSIX conformance program */
int main(void) { return 0; }
