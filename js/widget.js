// nbdebug widget: plain ES module (anywidget). Filled in by the widget work (issue 4).
export default { render() {} };
