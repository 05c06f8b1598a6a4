// `nx-campaign/workflow`: defineWorkflow and z, for a workspace's own workflow types (workflows/<name>.ts).
module.exports = require('./dist/workflows/api');
