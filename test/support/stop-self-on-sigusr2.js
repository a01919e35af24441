// Preloaded into a service under test (NODE_OPTIONS=--require): on SIGUSR2
// the process stops itself (SIGSTOP) from inside JavaScript, so the stall
// begins in the middle of an event-loop turn, as a GC pause, CPU starvation
// or a long synchronous cleanup would. The test resumes it with SIGCONT.
process.on('SIGUSR2', () => process.kill(process.pid, 'SIGSTOP'));
