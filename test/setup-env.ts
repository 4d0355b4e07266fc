// The SDK's notice that its 2027 releases need Node 22 repeats once per test file and worker on the Node 20 machines
// this suite runs on; it is known (TOOLCHAIN.md) and says nothing about the code under test.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
